"""Datasets, augmentation pipelines and LightningDataModules."""

from encnet.data.cifar10 import CIFAR10, CIFAR10DataModule
from encnet.data.context_scenes import ContextScenesDataModule
from encnet.data.datamodule import SegmentationDataModule
from encnet.data.folder import SegmentationFolder

__all__ = ["CIFAR10", "CIFAR10DataModule", "ContextScenesDataModule", "SegmentationDataModule", "SegmentationFolder"]
