"""LightningDataModule for the file-based segmentation datasets; it owns the augmentation pipelines."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.utils import get_class

from encnet.data.dataset import SegmentationDataset
from encnet.data.loaders import LoadersDataModule
from encnet.data.transforms import IMAGENET_MEAN, IMAGENET_STD, eval_transform, train_transform


class SegmentationDataModule(LoadersDataModule):
    """Train/val/test loaders over one :class:`SegmentationDataset` subclass with the paper's augmentation.

    ``dataset`` is the dataset class's import path (``encnet.data.ADE20K``, ``encnet.data.PascalContext``,
    ``encnet.data.PascalContext60``, ``encnet.data.VOC``, ``encnet.data.Cityscapes``); extra keyword arguments
    (VOC's ``sbd_root``) go to it. Batches are (images B×3×H×W float, masks B×H×W int64, 255 = ignore).
    Validation images are resized to short side ``base_size`` and keep their aspect ratio, so
    ``val_batch_size`` > 1 needs equally sized images. Test and predict loaders yield the ``test_split`` one
    image at a time at its original resolution (multi-scale evaluation resizes). ``stream_seed`` seeds the
    training stream (shuffle order and augmentation; :mod:`encnet.data.loaders`), independently of the model's.

    Attributes: ``class_names`` (class-id order) and ``background_index`` (the class id of a counted
    "background" class — 0 for PASCAL-Context's 60-class convention — or None).
    """

    def __init__(
        self,
        root: str,
        dataset: str = "encnet.data.ADE20K",
        num_classes: int | None = None,
        class_names: Sequence[str] | None = None,
        train_split: str = "train",
        val_split: str = "val",
        test_split: str = "val",
        verify: bool = False,
        stream_seed: int = 0,
        batch_size: int = 16,
        val_batch_size: int = 1,
        num_workers: int = 4,
        base_size: int = 520,
        crop_size: int = 480,
        scale_range: Sequence[float] = (0.5, 2.0),
        rotate_degrees: float = 10.0,
        flip: bool = True,
        photometric_distortion: bool = False,
        cat_max_ratio: float | None = None,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        ignore_index: int = 255,
        **dataset_options: Any,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["class_names"])  # the task keeps the names (and the checkpoint)
        self.dataset_class: type[SegmentationDataset] = get_class(dataset)
        if not issubclass(self.dataset_class, SegmentationDataset):
            raise TypeError(f"data.dataset={dataset!r} is not a encnet.data.SegmentationDataset subclass")
        names = list(class_names) if class_names else list(self.dataset_class.class_names)
        if num_classes is None:
            self.hparams.num_classes = num_classes = len(names)
        if len(names) != num_classes:
            raise ValueError(f"data.num_classes={num_classes} but {dataset} has {len(names)} class names")
        self.class_names = names
        self.background_index = self.dataset_class.background_index
        self.dataset_options = dataset_options

    @property
    def root(self) -> Path:
        return Path(self.hparams.root).expanduser()

    def _dataset(self, split: str, transform) -> SegmentationDataset:
        hp = self.hparams
        return self.dataset_class(self.root, split, transform=transform, verify=hp.verify,
                                  ignore_index=hp.ignore_index, **self.dataset_options)

    def setup(self, stage: str | None = None) -> None:
        hp = self.hparams
        if stage in (None, "fit") and self.train_set is None:
            self.train_set = self._dataset(
                hp.train_split,
                train_transform(hp.base_size, hp.crop_size, hp.scale_range, hp.rotate_degrees, hp.flip,
                                hp.ignore_index, hp.mean, hp.std, hp.photometric_distortion, hp.cat_max_ratio),
            )
        if stage in (None, "fit", "validate") and self.val_set is None:
            self.val_set = self._dataset(hp.val_split, eval_transform(hp.base_size, hp.mean, hp.std))
        if stage in (None, "test", "predict") and self.test_set is None:
            self.test_set = self._dataset(hp.test_split, eval_transform(None, hp.mean, hp.std))

    @property
    def test_batch_size(self) -> int:
        return 1  # test images keep their original, differing sizes

    @property
    def dataset_info(self) -> dict:
        """``class_names`` and ``background_index``, for :class:`encnet.tasks.SegmentationTask`."""
        return {"class_names": list(self.class_names), "background_index": self.background_index}
