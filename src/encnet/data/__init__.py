"""Datasets, augmentation pipelines and LightningDataModules."""

from encnet.data.context_scenes import ContextScenesDataModule
from encnet.data.datamodule import SegmentationDataModule
from encnet.data.folder import SegmentationFolder

__all__ = ["ContextScenesDataModule", "SegmentationDataModule", "SegmentationFolder"]
