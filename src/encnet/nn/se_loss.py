"""Semantic Encoding loss (paper §3.3): predict which classes are present in the image.

The targets are the classes that occur in the ground-truth mask (ignore pixels excluded); the loss is
binary cross-entropy with logits, one binary decision per class, averaged over classes and images.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def class_presence(mask: Tensor, num_classes: int, ignore_index: int = 255) -> Tensor:
    """B×H×W integer mask → B×num_classes float {0, 1}: 1 where the class labels any non-ignored pixel."""
    labels = mask.flatten(1).long()
    labels = torch.where(labels == ignore_index, torch.full_like(labels, num_classes), labels)
    if labels.numel() and (labels.min() < 0 or labels.max() > num_classes):
        bad = labels[(labels < 0) | (labels > num_classes)][0].item()
        raise ValueError(f"mask label {bad} is outside [0, {num_classes}) and is not ignore_index={ignore_index}")
    presence = torch.zeros(labels.shape[0], num_classes + 1, device=mask.device)
    presence.scatter_(1, labels, 1.0)
    return presence[:, :num_classes]


class SELoss(nn.Module):
    """BCE-with-logits between B×num_classes presence logits and the presence of classes in a B×H×W mask."""

    def __init__(self, num_classes: int, ignore_index: int = 255) -> None:
        super().__init__()
        self.num_classes, self.ignore_index = num_classes, ignore_index

    def forward(self, logits: Tensor, mask: Tensor) -> Tensor:
        target = class_presence(mask, self.num_classes, self.ignore_index).to(logits.dtype)
        return F.binary_cross_entropy_with_logits(logits, target)
