"""PASCAL VOC 2012 segmentation (http://host.robots.ox.ac.uk/pascal/VOC/voc2012/), optionally augmented with
SBD, the Semantic Boundaries Dataset (Hariharan et al. 2011, ``benchmark_RELEASE``): 20 classes + background.

``SegmentationClass/*.png`` are palette PNGs whose *indices* are the class ids (255 = object boundary,
ignored); SBD's ``cls/<id>.mat`` hold the same ids in ``GTcls.Segmentation``.

Split ``train_aug`` (10,582 images with the full datasets) is VOC train ∪ SBD train ∪ SBD val **minus every
VOC 2012 val image**: SBD's train/val lists contain VOC 2012 val images, which the released EncNet code
leaves in its training set. A sample's mask is VOC's PNG where one exists, else SBD's ``.mat``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from encnet.data.dataset import IGNORE_INDEX, SegmentationDataset, identity_labels

CLASSES = (
    "background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
)  # fmt: skip


def train_aug_ids(voc_train: list[str], voc_val: list[str], sbd_train: list[str], sbd_val: list[str]) -> list[str]:
    """Sorted ids of ``train_aug``: (VOC train ∪ SBD train ∪ SBD val) − VOC val."""
    return sorted((set(voc_train) | set(sbd_train) | set(sbd_val)) - set(voc_val))


class VOC(SegmentationDataset):
    """VOC 2012 (``root`` = ``VOCdevkit/VOC2012``); split ``train_aug`` also needs ``sbd_root``."""

    class_names = CLASSES
    splits = ("train", "val", "trainval", "train_aug")
    layout = (
        "  <root>/JPEGImages/<id>.jpg\n"
        "  <root>/SegmentationClass/<id>.png                (palette PNG, index = class, 255 = ignore)\n"
        "  <root>/ImageSets/Segmentation/{train,val,trainval}.txt\n"
        "  (<root> = VOCdevkit/VOC2012)  and, for split train_aug, SBD:\n"
        "  <sbd_root>/img/<id>.jpg   <sbd_root>/cls/<id>.mat   <sbd_root>/{train,val}.txt\n"
        "  (<sbd_root> = benchmark_RELEASE/dataset)"
    )

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        transform=None,
        verify: bool = False,
        ignore_index: int = IGNORE_INDEX,
        sbd_root: str | Path | None = None,
    ) -> None:
        self.sbd_root = Path(sbd_root).expanduser() if sbd_root else None
        super().__init__(root, split, transform, verify, ignore_index)

    def find_pairs(self, split: str) -> list[tuple[Path, Path]]:
        lists = self.root / "ImageSets" / "Segmentation"
        if split != "train_aug":
            ids = self.read_list(lists / f"{split}.txt")
        elif self.sbd_root is None:
            raise ValueError("VOC split 'train_aug' needs sbd_root (data.sbd_root): the SBD benchmark_RELEASE/dataset "
                             "directory")
        else:
            self.require_dir(self.sbd_root)
            ids = train_aug_ids(self.read_list(lists / "train.txt"), self.read_list(lists / "val.txt"),
                                self.read_list(self.sbd_root / "train.txt"), self.read_list(self.sbd_root / "val.txt"))
        return [(self._find(i, "JPEGImages", ".jpg", "img"), self._find(i, "SegmentationClass", ".png", "cls", ".mat"))
                for i in ids]

    def _find(self, sample_id: str, voc_dir: str, voc_suffix: str, sbd_dir: str, sbd_suffix: str | None = None) -> Path:
        """VOC's file of ``sample_id`` if it exists, else SBD's (train_aug only); missing in both is an error."""
        voc = self.root / voc_dir / f"{sample_id}{voc_suffix}"
        if voc.is_file() or self.split != "train_aug":
            return self.require_file(voc, f"file of {sample_id}")
        sbd = self.sbd_root / sbd_dir / f"{sample_id}{sbd_suffix or voc_suffix}"
        return self.require_file(sbd, f"file of {sample_id} (not in VOC either: {voc})")

    def label_table(self, ignore_index: int) -> np.ndarray:
        return identity_labels(self.num_classes, ignore_index)
