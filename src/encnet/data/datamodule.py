"""LightningDataModule for file-based segmentation datasets; it owns the augmentation pipelines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from encnet.data.folder import SegmentationFolder
from encnet.data.transforms import IMAGENET_MEAN, IMAGENET_STD, eval_transform, train_transform


class SegmentationDataModule(pl.LightningDataModule):
    """Train/val loaders over :class:`SegmentationFolder` (ADE20K layout) with the paper's augmentation.

    Batches are (images B×3×H×W float, masks B×H×W int64, 255 = ignore). Validation images keep their
    (resized) size, so ``val_batch_size`` > 1 needs equally sized images. Test and predict loaders yield
    the ``test_split`` one image at a time at its original resolution (multi-scale evaluation resizes).
    """

    def __init__(
        self,
        root: str,
        num_classes: int,
        class_names: Sequence[str] | None = None,
        reduce_zero_label: bool = False,
        batch_size: int = 16,
        val_batch_size: int = 1,
        num_workers: int = 4,
        base_size: int = 520,
        crop_size: int = 480,
        scale_range: Sequence[float] = (0.5, 2.0),
        rotate_degrees: float = 10.0,
        flip: bool = True,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        ignore_index: int = 255,
        test_split: str = "val",
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"data.class_names has {len(class_names)} names but data.num_classes={num_classes}")
        self.class_names = list(class_names) if class_names else None
        self.train_set: SegmentationFolder | None = None
        self.val_set: SegmentationFolder | None = None
        self.test_set: SegmentationFolder | None = None

    @property
    def root(self) -> Path:
        return Path(self.hparams.root).expanduser()

    def _dataset(self, split: str, transform) -> SegmentationFolder:
        hp = self.hparams
        return SegmentationFolder(self.root, split, hp.num_classes, hp.reduce_zero_label, hp.ignore_index, transform)

    def setup(self, stage: str | None = None) -> None:
        hp = self.hparams
        if stage in (None, "fit") and self.train_set is None:
            self.train_set = self._dataset(
                "train",
                train_transform(hp.base_size, hp.crop_size, hp.scale_range, hp.rotate_degrees, hp.flip,
                                hp.ignore_index, hp.mean, hp.std),
            )
        if stage in (None, "fit", "validate") and self.val_set is None:
            self.val_set = self._dataset("val", eval_transform(hp.base_size, hp.mean, hp.std))
        if stage in (None, "test", "predict") and self.test_set is None:
            self.test_set = self._dataset(hp.test_split, eval_transform(None, hp.mean, hp.std))

    def _loader(self, dataset, batch_size: int, shuffle: bool) -> DataLoader:
        workers = self.hparams.num_workers
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=shuffle, num_workers=workers,
                          persistent_workers=workers > 0, pin_memory=torch.cuda.is_available())

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, self.hparams.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, self.hparams.val_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, 1, shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()
