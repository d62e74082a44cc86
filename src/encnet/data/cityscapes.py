"""Cityscapes (https://www.cityscapes-dataset.com): fine annotations, 2,975 training and 500 validation images
of 2048×1024, 19 evaluated classes.

``gtFine/*_labelIds.png`` stores the 34 label ids of ``cityscapesscripts/helpers/labels.py``; the 19 with a
``trainId`` become classes 0..18, every other value becomes ignore (255).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from encnet.data.dataset import SegmentationDataset

CLASSES = (
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
    "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
)  # fmt: skip
# labelId → trainId of the official table (all other labelIds, e.g. 0 unlabeled, 9 parking, 29 caravan: ignore).
LABEL_TO_TRAIN_ID = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9,
    23: 10, 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18,
}  # fmt: skip
IMAGE_SUFFIX, MASK_SUFFIX = "_leftImg8bit.png", "_gtFine_labelIds.png"


class Cityscapes(SegmentationDataset):
    """Cityscapes fine annotations; ``root`` holds ``leftImg8bit/`` and ``gtFine/``."""

    class_names = CLASSES
    layout = (
        "  <root>/leftImg8bit/{train,val}/<city>/<city>_<seq>_<frame>_leftImg8bit.png\n"
        "  <root>/gtFine/{train,val}/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png"
    )

    def find_pairs(self, split: str) -> list[tuple[Path, Path]]:
        image_dir = self.require_dir(self.root / "leftImg8bit" / split)
        mask_dir = self.require_dir(self.root / "gtFine" / split)
        images = sorted(image_dir.glob(f"*/*{IMAGE_SUFFIX}"))
        return self.require_pairs(
            [(image, mask_dir / image.parent.name / image.name.replace(IMAGE_SUFFIX, MASK_SUFFIX)) for image in images]
        )

    def label_table(self, ignore_index: int) -> np.ndarray:
        table = np.full(256, ignore_index, np.int64)
        for label_id, train_id in LABEL_TO_TRAIN_ID.items():
            table[label_id] = train_id
        return table
