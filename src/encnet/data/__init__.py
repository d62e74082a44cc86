"""Datasets (one module per dataset, on a common base), augmentation pipelines and the LightningDataModule."""

from encnet.data.ade20k import ADE20K
from encnet.data.cifar10 import CIFAR10, CIFAR10DataModule
from encnet.data.cityscapes import Cityscapes
from encnet.data.context_scenes import ContextScenes, ContextScenesDataModule
from encnet.data.datamodule import SegmentationDataModule
from encnet.data.dataset import SegmentationDataset
from encnet.data.folder import FolderDataset
from encnet.data.pascal_context import PascalContext, PascalContext60
from encnet.data.voc import VOC

__all__ = [
    "ADE20K",
    "CIFAR10",
    "CIFAR10DataModule",
    "Cityscapes",
    "ContextScenes",
    "ContextScenesDataModule",
    "FolderDataset",
    "PascalContext",
    "PascalContext60",
    "SegmentationDataModule",
    "SegmentationDataset",
    "VOC",
]
