"""Lightning tasks: the training/evaluation logic around the plain ``torch.nn`` models, and loading a trained
one from a checkpoint file."""

from encnet.tasks.classification import ClassificationTask
from encnet.tasks.loading import load_task, load_weights, task_kind
from encnet.tasks.segmentation import SegmentationTask

__all__ = ["ClassificationTask", "SegmentationTask", "load_task", "load_weights", "task_kind"]
