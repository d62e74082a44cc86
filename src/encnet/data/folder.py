"""One's own images and masks in a folder (``data=folder``): the classes come from ``<root>/classes.txt``.

Layout::

    <root>/classes.txt                       one class name a line, in id order; optionally "name R G B"
    <root>/images/<split>/<name>.<jpg|jpeg|png|tif|tiff|bmp>
    <root>/annotations/<split>/<name>.png    class ids 0..n−1, 255 = ignore

or, with list files, one pool of images selected per split::

    <root>/splits/<split>.txt                one <name> a line (a path below images/, no suffix)
    <root>/images/<name>.<suffix>            <root>/annotations/<name>.png

A split is read from its list file when ``splits/<split>.txt`` exists, else from its directories.
``reduce_zero_label=True`` reads masks that store 0 as "unlabelled" and class k as k + 1 (ADE20K's convention):
0 → ignore, k → k − 1. The class count is the number of names in ``classes.txt`` and nothing else
(``conf/data/folder.yaml`` resolves ``data.num_classes`` from it with :func:`num_classes_in`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from omegaconf import OmegaConf

from encnet.data.dataset import IGNORE_INDEX, ClassList, SegmentationDataset, identity_labels, shifted_labels

FOLDER_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp")
CLASSES_FILE = "classes.txt"
LAYOUT = (
    "  <root>/classes.txt                      one class name a line, in id order; optionally \"name R G B\"\n"
    "  <root>/images/<split>/<name>.<jpg|jpeg|png|tif|tiff|bmp>\n"
    "  <root>/annotations/<split>/<name>.png   class ids 0..n-1, 255 = ignore (data.reduce_zero_label=true:\n"
    "                                          0 = unlabelled, class k stored as k + 1)\n"
    "  or <root>/splits/<split>.txt listing <name>s of <root>/images/<name>.<suffix>, "
    "<root>/annotations/<name>.png"
)


def _parse_line(line: str) -> tuple[str, tuple[int, int, int] | None]:
    """``"name"`` or ``"name R G B"`` (the name may hold spaces) → (name, colour or None)."""
    parts = line.split()
    if len(parts) >= 4 and all(p.lstrip("-").isdigit() for p in parts[-3:]):
        return " ".join(parts[:-3]), tuple(int(p) for p in parts[-3:])
    return line.strip(), None


def read_classes(path: str | Path) -> ClassList:
    """Parse ``classes.txt``; every problem is one ValueError / FileNotFoundError naming the file (and line)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"class file {path} does not exist (one class name a line, in id order); "
                                f"expected layout:\n{LAYOUT}")
    lines = path.read_text(encoding="utf-8").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    names: list[str] = []
    colours: list[tuple[int, int, int] | None] = []
    for number, line in enumerate(lines, start=1):
        name, colour = _parse_line(line)
        if not name:
            raise ValueError(f"{path} line {number}: empty class name (one class name a line, in id order)")
        if name in names:
            raise ValueError(f"{path} line {number}: class name {name!r} duplicates line {names.index(name) + 1}")
        if colour is not None and not all(0 <= c <= 255 for c in colour):
            raise ValueError(f"{path} line {number}: colour {colour} of {name!r} is not three values in 0..255")
        names.append(name)
        colours.append(colour)
    if not names:
        raise ValueError(f"{path} has no class names (one class name a line, in id order)")
    if len(names) > IGNORE_INDEX:
        raise ValueError(f"{path} has {len(names)} classes; at most {IGNORE_INDEX} fit in 8-bit masks "
                         f"({IGNORE_INDEX} = ignore)")
    given = [c is not None for c in colours]
    if any(given) and not all(given):
        line = given.index(False) + 1 if given[0] else given.index(True) + 1
        raise ValueError(f"{path} line {line}: give a colour \"name R G B\" on every line or on none")
    return ClassList(tuple(names), tuple(colours) if all(given) else None)  # type: ignore[arg-type]


def classes_of(root: str | Path) -> ClassList:
    """The classes of the folder dataset at ``root`` (its ``classes.txt``); a missing ``root`` is named as such."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"dataset directory {root} does not exist (data.root); expected layout:\n{LAYOUT}")
    return read_classes(root / CLASSES_FILE)


def num_classes_in(root: str | Path) -> int:
    """The number of classes in ``<root>/classes.txt`` (the ``${folder_num_classes:...}`` resolver)."""
    return len(classes_of(root).names)


OmegaConf.register_new_resolver("folder_num_classes", num_classes_in, replace=True)


class FolderDataset(SegmentationDataset):
    """One's own dataset in the layout of this module; ``split`` is any split the folder has.

    Args:
        root, split, transform, verify, ignore_index, skip_unpaired: as :class:`SegmentationDataset`.
        reduce_zero_label: masks store 0 = unlabelled and class k as k + 1 (ADE20K's convention).
    """

    layout = LAYOUT

    def __init__(self, root: str | Path, split: str = "train", transform: Callable[..., dict] | None = None,
                 verify: bool = False, ignore_index: int = IGNORE_INDEX, reduce_zero_label: bool = False,
                 skip_unpaired: bool = False) -> None:
        root = Path(root).expanduser()
        self.classes = self.class_list(root)
        self.class_names = self.classes.names
        self.reduce_zero_label = reduce_zero_label
        self.splits = self.available_splits(root)
        super().__init__(root, split, transform, verify, ignore_index, skip_unpaired)

    @classmethod
    def class_list(cls, root: str | Path) -> ClassList:
        return classes_of(root)

    @staticmethod
    def available_splits(root: Path) -> tuple[str, ...]:
        """Split names: those of ``splits/*.txt`` and of the directories in ``images/``."""
        lists = {p.stem for p in (root / "splits").glob("*.txt")}
        dirs = {p.name for p in (root / "images").iterdir() if p.is_dir()} if (root / "images").is_dir() else set()
        return tuple(sorted(lists | dirs))

    def find_pairs(self, split: str) -> list[tuple[Path, Path]]:
        split_list = self.root / "splits" / f"{split}.txt"
        if split_list.is_file():
            images, masks = self.require_dir(self.root / "images"), self.require_dir(self.root / "annotations")
            return self.require_pairs([(self.find_image(images, name), masks / f"{name}.png")
                                       for name in self.read_list(split_list)])
        return self.pair_by_stem(self.root / "images" / split, self.root / "annotations" / split,
                                 suffixes=FOLDER_IMAGE_SUFFIXES)

    def find_image(self, images: Path, name: str) -> Path:
        """``images/<name>.<suffix>`` for the one suffix that exists; several is an error, none leaves a path
        that :meth:`require_pairs` names as missing."""
        found = [images / f"{name}{s}" for s in FOLDER_IMAGE_SUFFIXES if (images / f"{name}{s}").is_file()]
        if len(found) > 1:
            raise self.layout_error(f"image name {name!r} has several files: {', '.join(map(str, found))}", ValueError)
        return found[0] if found else images / f"{name}.<{'|'.join(s[1:] for s in FOLDER_IMAGE_SUFFIXES)}>"

    def label_table(self, ignore_index: int) -> np.ndarray:
        make = shifted_labels if self.reduce_zero_label else identity_labels
        return make(self.num_classes, ignore_index)

    def label_hint(self) -> str:
        n = self.num_classes
        if self.reduce_zero_label:
            return (f"data.reduce_zero_label=true: stored labels are 0 = unlabelled and 1..{n} for the {n} classes "
                    f"of {self.root / CLASSES_FILE}, 255 = ignore")
        return (f"data.reduce_zero_label=false: stored labels are the class ids 0..{n - 1} of "
                f"{self.root / CLASSES_FILE}, 255 = ignore; masks that store class k as k + 1 with 0 = unlabelled "
                "need data.reduce_zero_label=true")
