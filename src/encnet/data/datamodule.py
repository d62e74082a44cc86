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
    ``encnet.data.PascalContext60``, ``encnet.data.VOC``, ``encnet.data.Cityscapes``,
    ``encnet.data.FolderDataset``); extra keyword arguments (VOC's ``sbd_root``, a folder's
    ``reduce_zero_label``) go to it. Batches are (images B×3×H×W float, masks B×H×W int64, 255 = ignore).
    Validation images are resized to short side ``base_size`` and keep their aspect ratio, so
    ``val_batch_size`` > 1 needs equally sized images. Test and predict loaders yield the ``test_split`` one
    image at a time at its original resolution (multi-scale evaluation resizes). ``stream_seed`` seeds the
    training stream (shuffle order and augmentation; :mod:`encnet.data.loaders`), independently of the model's.

    Attributes: ``class_names`` (class-id order), ``class_colours`` (RGB per class when the dataset defines
    them, as a folder's ``classes.txt`` may, else None) and ``background_index`` (the class id of a counted
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
        classes = self.dataset_class.class_list(self.root)
        names = list(class_names) if class_names else list(classes.names)
        if num_classes is None:
            self.hparams.num_classes = num_classes = len(names)
        if len(names) != num_classes:
            raise ValueError(f"data.num_classes={num_classes} but {dataset} has {len(names)} class names")
        self.class_names = names
        self.class_colours = [list(c) for c in classes.colours] if classes.colours and not class_names else None
        self.background_index = self.dataset_class.background_index
        self.dataset_options = dataset_options

    @property
    def root(self) -> Path:
        return Path(self.hparams.root).expanduser()

    def dataset(self, split: str, transform=None, **options: Any) -> SegmentationDataset:
        """The dataset of ``split`` as this config reads it, with ``transform``; ``options`` (``verify``,
        ``skip_unpaired``) go to the dataset class."""
        hp = self.hparams
        options = {"verify": hp.verify} | options
        return self.dataset_class(self.root, split, transform=transform, ignore_index=hp.ignore_index,
                                  **options, **self.dataset_options)

    def train_transform(self):
        """The training augmentation of this config (``encnet-check-data --show`` draws samples through it)."""
        hp = self.hparams
        return train_transform(hp.base_size, hp.crop_size, hp.scale_range, hp.rotate_degrees, hp.flip,
                               hp.ignore_index, hp.mean, hp.std, hp.photometric_distortion, hp.cat_max_ratio)

    def setup(self, stage: str | None = None) -> None:
        hp = self.hparams
        if stage in (None, "fit") and self.train_set is None:
            self.train_set = self.dataset(hp.train_split, self.train_transform())
        if stage in (None, "fit", "validate") and self.val_set is None:
            self.val_set = self.dataset(hp.val_split, eval_transform(hp.base_size, hp.mean, hp.std))
        if stage in (None, "test", "predict") and self.test_set is None:
            self.test_set = self.dataset(hp.test_split, eval_transform(None, hp.mean, hp.std))

    @property
    def test_batch_size(self) -> int:
        return 1  # test images keep their original, differing sizes

    @property
    def dataset_info(self) -> dict:
        """``class_names``, ``class_colours`` and ``background_index``, for :class:`encnet.tasks.SegmentationTask`."""
        return {"class_names": list(self.class_names), "class_colours": self.class_colours,
                "background_index": self.background_index}
