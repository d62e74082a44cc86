"""Base of every file-based dataset: (image, mask) file pairs and a table that maps stored labels to classes.

A subclass says only how to find its pairs (``find_pairs``) and how to map its stored labels
(``label_table``); this class does the checks and the reading:

* at construction (cheap: names only): the root and the split's directories / lists exist, no split list is
  empty, every image has its annotation, the split is not empty; with ``verify=True`` also every file is read
  once (slow);
* per sample, as it is read: both files decode (images of any mode become 8-bit RGB,
  :mod:`encnet.data.images`), the mask is single-channel and of the image's size, every stored label maps to
  a class or to the ignore index.

Every error names the offending path and quotes the dataset's expected layout.

Masks are PNGs of label ids (palette PNGs are read as their indices, not colours) or, for SBD, MATLAB
``.mat`` files holding ``GTcls.Segmentation``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image
from torch.utils.data import Dataset

from encnet.data.images import read_rgb

IGNORE_INDEX = 255
INVALID = -1  # label_table entry of a stored label that must not occur
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class ClassList:
    """A dataset's classes: names in id order and, when the dataset defines them, RGB colours (else the
    palette of :mod:`encnet.data.visualize` colours them)."""

    names: tuple[str, ...]
    colours: tuple[tuple[int, int, int], ...] | None = None


def shifted_labels(num_classes: int, ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Label table "0 is unlabelled": 0 → ignore, k → k − 1 for k in 1..num_classes, 255 → ignore."""
    table = np.full(256, INVALID, np.int64)
    table[0] = table[255] = ignore_index
    table[1 : num_classes + 1] = np.arange(num_classes)
    return table


def identity_labels(num_classes: int, ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """Label table "stored as class ids": k → k for k < num_classes, 255 → ignore."""
    table = np.full(256, INVALID, np.int64)
    table[:num_classes] = np.arange(num_classes)
    table[255] = ignore_index
    return table


def read_mask(path: Path) -> np.ndarray:
    """Stored labels of one annotation file as an H×W array (PNG, or SBD's ``.mat`` ``GTcls.Segmentation``)."""
    if path.suffix == ".mat":
        mat = scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
        if "GTcls" not in mat or not hasattr(mat["GTcls"], "Segmentation"):
            raise KeyError("no GTcls.Segmentation struct field")
        return np.asarray(mat["GTcls"].Segmentation)
    with Image.open(path) as image:
        return np.asarray(image)  # mode P: palette indices; mode L: grey values


class SegmentationDataset(Dataset):
    """(image H×W×3 uint8, mask H×W int64) pairs, passed through ``transform(image=, mask=)`` if given.

    ``skip_unpaired=True`` (``encnet-check-data``) leaves out an image without annotation (or sharing its
    annotation with another) and notes it in ``unpaired`` instead of raising, so that every such file is found.

    Subclasses set ``class_names`` (in class-id order), ``layout`` (the expected directory tree, quoted in
    errors), optionally ``background_index`` (class id of a "background" class that the 60-class PASCAL-Context
    convention counts), and implement ``find_pairs`` and ``label_table``.
    """

    class_names: tuple[str, ...] = ()
    background_index: int | None = None
    layout: str = ""
    splits: tuple[str, ...] = ("train", "val")

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        transform: Callable[..., dict] | None = None,
        verify: bool = False,
        ignore_index: int = IGNORE_INDEX,
        skip_unpaired: bool = False,
    ) -> None:
        if split not in self.splits:
            raise ValueError(f"{type(self).__name__}: split must be one of {list(self.splits)}, got {split!r}")
        self.root, self.split = Path(root).expanduser(), split
        self.transform, self.ignore_index = transform, ignore_index
        self.skip_unpaired = skip_unpaired
        self.unpaired: list[Exception] = []  # with skip_unpaired: the error of each sample left out
        self.require_dir(self.root)
        self.samples: list[tuple[Path, Path]] = self.find_pairs(split)
        if not self.samples:
            raise self.layout_error(f"{type(self).__name__} split {split!r} under {self.root} has no samples")
        self.table = self.label_table(ignore_index)
        if verify:
            for index in range(len(self)):
                self.load(index)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @classmethod
    def class_list(cls, root: str | Path) -> ClassList:
        """The classes of the dataset at ``root`` (a fixed list for the benchmarks; a folder's own file)."""
        return ClassList(tuple(cls.class_names))

    def label_hint(self) -> str:
        """What the stored labels should be, appended to the error of a label outside them ("" = nothing)."""
        return ""

    # -- what a subclass provides ---------------------------------------------------------------------
    def find_pairs(self, split: str) -> list[tuple[Path, Path]]:
        """(image path, mask path) of every sample of ``split``, in a fixed order; names checked only."""
        raise NotImplementedError

    def label_table(self, ignore_index: int) -> np.ndarray:
        """256 entries: class id (or ``ignore_index``) of each stored label value; ``INVALID`` = must not occur."""
        raise NotImplementedError

    # -- cheap checks for find_pairs ------------------------------------------------------------------
    def layout_error(self, message: str, error: type[Exception] = FileNotFoundError) -> Exception:
        """``error`` whose message ends with the dataset's expected layout."""
        return error(f"{message}; expected layout:\n{self.layout}")

    def require_dir(self, path: Path) -> Path:
        if not path.is_dir():
            raise self.layout_error(f"dataset directory {path} does not exist")
        return path

    def require_file(self, path: Path, what: str = "file") -> Path:
        if not path.is_file():
            raise self.layout_error(f"{what} {path} does not exist")
        return path

    def read_list(self, path: Path) -> list[str]:
        """Non-empty, stripped lines of a split list (one sample id per line); a list without any is an error."""
        self.require_file(path, "split list")
        ids = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        if not ids:
            raise self.layout_error(f"split list {path} is empty (one sample id per line expected)", ValueError)
        return ids

    def require_pairs(self, pairs: list[tuple[Path, Path]]) -> list[tuple[Path, Path]]:
        """``pairs``, once every image and every annotation is checked to exist."""
        kept = []
        for image, mask in pairs:
            if not image.is_file():
                self.unpaired_error(self.layout_error(f"image {image} does not exist"))
            elif not mask.is_file():
                self.unpaired_error(self.layout_error(f"image {image} has no annotation {mask}"))
            else:
                kept.append((image, mask))
        return kept

    def unpaired_error(self, error: Exception) -> None:
        """Raise ``error``; with ``skip_unpaired``, note it in ``unpaired`` instead."""
        if not self.skip_unpaired:
            raise error
        self.unpaired.append(error)

    def pair_by_stem(self, image_dir: Path, mask_dir: Path, mask_suffix: str = ".png",
                     suffixes: tuple[str, ...] = IMAGE_SUFFIXES) -> list[tuple[Path, Path]]:
        """Every image in ``image_dir`` (``suffixes``) paired with ``mask_dir/<stem><mask_suffix>``; a missing
        mask, or two images of one stem (one mask for both), is an error."""
        self.require_dir(image_dir)
        self.require_dir(mask_dir)
        images = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in suffixes)
        stems: dict[str, Path] = {}
        for image in images:
            if image.stem in stems:
                self.unpaired_error(ValueError(f"images {stems[image.stem]} and {image} share the name "
                                               f"{image.stem!r} and so the annotation "
                                               f"{mask_dir / (image.stem + mask_suffix)}; rename one"))
            else:
                stems[image.stem] = image
        return self.require_pairs([(image, mask_dir / f"{image.stem}{mask_suffix}") for image in stems.values()])

    # -- reading --------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.samples)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw (image H×W×3 uint8, mask H×W int64 of class ids / ignore), validated."""
        image_path, mask_path = self.samples[index]
        image, raw = self.read(image_path, read_rgb), self.read(mask_path, read_mask)
        if raw.ndim != 2:
            raise ValueError(f"annotation {mask_path} must be a single-channel label map, got shape {raw.shape}")
        if raw.shape != image.shape[:2]:
            raise ValueError(f"annotation {mask_path} is {raw.shape[::-1]} (W×H) but image {image_path} is "
                             f"{image.shape[1::-1]}")
        raw = raw.astype(np.int64)
        outside = (raw < 0) | (raw > 255)
        mask = self.table[np.where(outside, 0, raw)]
        bad = outside | (mask == INVALID)
        if bad.any():
            hint = self.label_hint()
            raise ValueError(f"annotation {mask_path} has label {int(raw[bad][0])}, which is none of the "
                             f"{self.num_classes} classes of {type(self).__name__} nor ignore ({self.ignore_index})"
                             + (f" ({hint})" if hint else ""))
        return image, mask

    def read(self, path: Path, reader: Callable[[Path], np.ndarray]) -> np.ndarray:
        """``reader(path)``; any decoder error becomes one error naming the file and the layout."""
        try:
            return reader(path)
        except Exception as err:  # noqa: BLE001 - PIL, scipy and zlib raise many types
            raise self.layout_error(f"cannot read {path} ({type(err).__name__}: {err})", OSError) from None

    def __getitem__(self, index: int):
        image, mask = self.load(index)
        if self.transform is None:
            return image, mask
        out = self.transform(image=image, mask=mask)
        return out["image"], out["mask"].long()
