"""Albumentations pipelines of the paper's recipe (§4.1): flip, random scale, rotation, pad, random crop.

Train: resize short side to ``base_size`` → horizontal flip → random scale in ``scale_range`` → rotate
±``rotate_degrees`` (image bilinear, mask nearest, fill image 0 / mask 255) → pad to ``crop_size``
(image 0, mask 255: padding never teaches a class) → random ``crop_size`` crop → normalise → tensors.
Val: resize short side to ``base_size`` → normalise → tensors (no randomness).
Test / predict: normalise → tensors at the original resolution (``encnet.inference`` resizes per scale).
"""

from __future__ import annotations

from collections.abc import Sequence

import albumentations as A
import cv2
from albumentations.pytorch import ToTensorV2

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _finish(mean: Sequence[float], std: Sequence[float]) -> list[A.BasicTransform]:
    return [A.Normalize(mean=tuple(mean), std=tuple(std)), ToTensorV2()]


def train_transform(
    base_size: int,
    crop_size: int,
    scale_range: Sequence[float] = (0.5, 2.0),
    rotate_degrees: float = 10.0,
    flip: bool = True,
    ignore_index: int = 255,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> A.Compose:
    """Training pipeline: ``(image=H×W×3 uint8, mask=H×W)`` → image 3×crop×crop float, mask crop×crop."""
    low, high = scale_range
    if not 0 < low <= high:
        raise ValueError(f"scale_range must be 0 < low ≤ high, got {tuple(scale_range)}")
    steps: list[A.BasicTransform] = [A.SmallestMaxSize(max_size=base_size)]
    if flip:
        steps.append(A.HorizontalFlip(p=0.5))
    steps.append(A.RandomScale(scale_limit=(low - 1.0, high - 1.0), interpolation=cv2.INTER_LINEAR, p=1.0))
    if rotate_degrees:
        steps.append(
            A.Rotate(limit=rotate_degrees, border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=ignore_index, p=1.0)
        )
    steps += [
        A.PadIfNeeded(crop_size, crop_size, border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=ignore_index),
        A.RandomCrop(crop_size, crop_size),
    ]
    return A.Compose(steps + _finish(mean, std))


def eval_transform(
    base_size: int | None, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD
) -> A.Compose:
    """Validation pipeline: short side resized to ``base_size`` (``None``: original size), normalised."""
    resize = [A.SmallestMaxSize(max_size=base_size)] if base_size else []
    return A.Compose([*resize, *_finish(mean, std)])
