"""Lightning tasks: the training/evaluation logic around the plain ``torch.nn`` models."""

from encnet.tasks.classification import ClassificationTask
from encnet.tasks.segmentation import SegmentationTask

__all__ = ["ClassificationTask", "SegmentationTask"]
