"""Albumentations pipelines of the paper's recipe (§4.1): flip, random scale, rotation, pad, random crop.

Train: resize short side to ``base_size`` → horizontal flip → random scale in ``scale_range`` → rotate
±``rotate_degrees`` (image bilinear, mask nearest, fill image 0 / mask 255) → pad to ``crop_size``
(image 0, mask 255: padding never teaches a class) → random ``crop_size`` crop → [photometric distortion]
→ normalise → tensors. Two switches from mmsegmentation's recipes, off by default (the paper uses neither):
``cat_max_ratio`` re-draws the crop until no class dominates it, ``photometric_distortion`` jitters colours.
Val: resize short side to ``base_size`` → normalise → tensors (no randomness).
Test / predict: normalise → tensors at the original resolution (``encnet.inference`` resizes per scale).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import albumentations as A
import cv2
import numpy as np
from albumentations.pytorch import ToTensorV2

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class CatMaxRatioCrop(A.RandomCrop):
    """Random crop re-drawn (up to ``max_tries`` times) until no single class covers more than
    ``cat_max_ratio`` of its labelled pixels and at least two classes are present (mmsegmentation's
    ``RandomCrop(cat_max_ratio=...)``); ignore pixels are not counted. The last draw is kept if none passes."""

    def __init__(self, height: int, width: int, cat_max_ratio: float, ignore_index: int = 255, max_tries: int = 10,
                 **kwargs: Any) -> None:
        super().__init__(height, width, **kwargs)
        if not 0 < cat_max_ratio <= 1:
            raise ValueError(f"cat_max_ratio must be in (0, 1], got {cat_max_ratio}")
        self.cat_max_ratio, self.ignore_index, self.max_tries = cat_max_ratio, ignore_index, max_tries

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        for _ in range(self.max_tries):
            crop = super().get_params_dependent_on_data(params, data)
            x0, y0, x1, y1 = crop["crop_coords"]
            labels = data["mask"][y0:y1, x0:x1]
            _, counts = np.unique(labels[labels != self.ignore_index], return_counts=True)
            if len(counts) > 1 and counts.max() / counts.sum() < self.cat_max_ratio:
                break
        return crop


def photometric_distortion() -> list[A.BasicTransform]:
    """mmsegmentation's ``PhotoMetricDistortion``, each step with probability ½: brightness ± 32, contrast
    ×[0.5, 1.5], saturation ×[0.5, 1.5], hue ± 18 (OpenCV's 0–180 hue scale)."""
    return [
        A.RandomBrightnessContrast(brightness_limit=32 / 255, contrast_limit=0, p=0.5),
        A.RandomBrightnessContrast(brightness_limit=0, contrast_limit=0.5, p=0.5),
        A.ColorJitter(brightness=0, contrast=0, saturation=(0.5, 1.5), hue=0, p=0.5),
        A.HueSaturationValue(hue_shift_limit=18, sat_shift_limit=0, val_shift_limit=0, p=0.5),
    ]


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
    photometric: bool = False,
    cat_max_ratio: float | None = None,
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
    steps.append(A.PadIfNeeded(crop_size, crop_size, border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=ignore_index))
    if cat_max_ratio is not None and cat_max_ratio < 1:
        steps.append(CatMaxRatioCrop(crop_size, crop_size, cat_max_ratio, ignore_index))
    else:
        steps.append(A.RandomCrop(crop_size, crop_size))
    if photometric:
        steps += photometric_distortion()
    return A.Compose(steps + _finish(mean, std))


def eval_transform(
    base_size: int | None, mean: Sequence[float] = IMAGENET_MEAN, std: Sequence[float] = IMAGENET_STD
) -> A.Compose:
    """Validation pipeline: short side resized to ``base_size`` (``None``: original size), normalised."""
    resize = [A.SmallestMaxSize(max_size=base_size)] if base_size else []
    return A.Compose([*resize, *_finish(mean, std)])
