"""PASCAL-Context (https://cs.stanford.edu/~roozbeh/pascal-context/): VOC 2010 images with whole-scene labels,
the 59 most frequent classes plus background; 4,998 training and 5,105 validation images.

Read from the widely used converted layout (mmsegmentation's ``tools/dataset_converters/pascal_context.py``,
or ``encnet-convert-pcontext`` from the original ``.mat`` release): one PNG per image with 0 = background
and 1..59 = the 59 classes in the order of ``CLASSES[1:]``. Two conventions:

* :class:`PascalContext` — 59 classes, background ignored (0 → 255, k → k − 1): the usual protocol;
* :class:`PascalContext60` — 60 classes, background kept as class 0: the paper's Table 2 convention.

:func:`convert_release` writes that layout from the original release (``encnet-convert-pcontext``): the VOC 2010
``JPEGImages/`` and ``ImageSets/Main/{train,val}.txt``, and PASCAL-Context's ``trainval/<id>.mat`` (a
``LabelMap`` of the 459-class ids of ``labels.txt``) → ``SegmentationClassContext/<id>.png`` and
``ImageSets/SegmentationContext/{train,val}.txt`` (the Main ids that have a label map: 4,998 / 5,105). The 59
classes are those of the released EncNet code's ``_mapping`` table; every other id, and 0, becomes background.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from encnet.data.dataset import SegmentationDataset, identity_labels, shifted_labels

# Class 0 of the 60-class convention, then the 59 classes (alphabetical = sorted by their 459-class id).
CLASSES = (
    "background", "aeroplane", "bag", "bed", "bedclothes", "bench", "bicycle", "bird", "boat", "book",
    "bottle", "building", "bus", "cabinet", "car", "cat", "ceiling", "chair", "cloth", "computer", "cow",
    "cup", "curtain", "dog", "door", "fence", "floor", "flower", "food", "grass", "ground", "horse",
    "keyboard", "light", "motorbike", "mountain", "mouse", "person", "plate", "platform", "pottedplant",
    "road", "rock", "sheep", "shelves", "sidewalk", "sign", "sky", "snow", "sofa", "table", "track",
    "train", "tree", "truck", "tvmonitor", "wall", "water", "window", "wood",
)  # fmt: skip


class PascalContext(SegmentationDataset):
    """PASCAL-Context, 59 classes (background → ignore); ``root`` is ``VOCdevkit/VOC2010``."""

    class_names = CLASSES[1:]
    layout = (
        "  <root>/JPEGImages/<id>.jpg\n"
        "  <root>/SegmentationClassContext/<id>.png            (0 = background, 1..59 = classes)\n"
        "  <root>/ImageSets/SegmentationContext/{train,val}.txt (one <id> per line)\n"
        "  (<root> = VOCdevkit/VOC2010; write the PNGs and lists with `encnet-convert-pcontext` or mmseg's "
        "converter)"
    )

    def find_pairs(self, split: str) -> list[tuple[Path, Path]]:
        ids = self.read_list(self.root / "ImageSets" / "SegmentationContext" / f"{split}.txt")
        image_dir = self.require_dir(self.root / "JPEGImages")
        mask_dir = self.require_dir(self.root / "SegmentationClassContext")
        return self.require_pairs([(image_dir / f"{i}.jpg", mask_dir / f"{i}.png") for i in ids])

    def label_table(self, ignore_index: int) -> np.ndarray:
        return shifted_labels(self.num_classes, ignore_index)


class PascalContext60(PascalContext):
    """PASCAL-Context, 60 classes: background is class 0 (counted in pixAcc and mIoU)."""

    class_names = CLASSES
    background_index = 0

    def label_table(self, ignore_index: int) -> np.ndarray:
        return identity_labels(self.num_classes, ignore_index)


# 459-class ids of background (0) and the 59 classes, sorted: position = class id in the PNGs.
CONTEXT_IDS = (
    0, 2, 9, 18, 19, 22, 23, 25, 31, 33, 34, 44, 45, 46, 59, 65, 68, 72, 80, 85, 98, 104, 105, 113, 115, 144,
    158, 159, 162, 187, 189, 207, 220, 232, 258, 259, 260, 284, 295, 296, 308, 324, 326, 347, 349, 354, 355,
    360, 366, 368, 397, 415, 416, 420, 424, 427, 440, 445, 454, 458,
)  # fmt: skip


# Stored 459-class id → 0 (background) or the position of that id in CONTEXT_IDS.
_TABLE = np.zeros(CONTEXT_IDS[-1] + 1, np.uint8)
_TABLE[list(CONTEXT_IDS)] = np.arange(len(CONTEXT_IDS))


def context_labels(label_map: np.ndarray) -> np.ndarray:
    """459-class ``LabelMap`` (H×W) → H×W uint8: 0 = background, k = k-th of the 59 classes."""
    table = _TABLE
    if label_map.max() >= len(table):  # ids beyond the 59 classes' range are background too
        table = np.concatenate([table, np.zeros(int(label_map.max()) + 1 - len(table), np.uint8)])
    return table[label_map]


def convert_release(voc2010: Path, trainval: Path) -> dict[str, int]:
    """Write the PNGs and split lists into ``voc2010``; return the number of ids per split."""
    import scipy.io  # only for the one-time conversion

    mats = sorted(trainval.glob("*.mat"))
    if not mats:
        raise FileNotFoundError(f"no <id>.mat label maps in {trainval} (the PASCAL-Context trainval/ directory)")
    main_lists = {split: voc2010 / "ImageSets" / "Main" / f"{split}.txt" for split in ("train", "val")}
    for main in main_lists.values():  # before the slow part
        if not main.is_file():
            raise FileNotFoundError(f"VOC 2010 split list {main} does not exist (is {voc2010} VOCdevkit/VOC2010?)")
    out = voc2010 / "SegmentationClassContext"
    out.mkdir(parents=True, exist_ok=True)
    for mat in mats:
        try:
            label_map = scipy.io.loadmat(mat)["LabelMap"]
        except Exception as err:  # noqa: BLE001 - scipy raises many types for a bad file
            raise OSError(f"cannot read LabelMap from {mat}: {err}") from None
        Image.fromarray(context_labels(label_map)).save(out / f"{mat.stem}.png")
    converted, counts = {m.stem for m in mats}, {}
    lists = voc2010 / "ImageSets" / "SegmentationContext"
    lists.mkdir(parents=True, exist_ok=True)
    for split, main in main_lists.items():
        ids = [i for i in (line.strip() for line in main.read_text().splitlines()) if i in converted]
        (lists / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
        counts[split] = len(ids)
    return counts
