"""PASCAL-Context (https://cs.stanford.edu/~roozbeh/pascal-context/): VOC 2010 images with whole-scene labels,
the 59 most frequent classes plus background; 4,998 training and 5,105 validation images.

Read from the widely used converted layout (mmsegmentation's ``tools/dataset_converters/pascal_context.py``,
or ``encnet-convert-pcontext`` from the original ``.mat`` release): one PNG per image with 0 = background
and 1..59 = the 59 classes in the order of ``CLASSES[1:]``. Two conventions:

* :class:`PascalContext` — 59 classes, background ignored (0 → 255, k → k − 1): the usual protocol;
* :class:`PascalContext60` — 60 classes, background kept as class 0: the paper's Table 2 convention.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

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
