"""Multi-scale, flipped, sliding-window inference (the paper's evaluation protocol, §4.1).

For each scale s the image is resized so that its short side (``resize_side=short``, the default) or its long
side (``long``: PyTorch-Encoding's multi-size protocol) is ``base_size · s``; with ``max_size`` the long side is
also at most ``max_size · s`` (mmsegmentation's "fit into 2048×512": ``base_size=512, max_size=2048``). Sizes
are rounded half up, as mmcv and PyTorch-Encoding do. In ``slide`` mode
an image larger than ``crop_size`` is covered by crop×crop windows with stride ``stride_ratio · crop``
(2/3 by default); windows overlapping a pixel are averaged, and an image smaller than the crop is padded
with black (as in training) to one window. In ``whole`` mode the network sees the whole resized image.
Each window's softmax probabilities (plus those of its horizontal flip) are upsampled to the original
resolution and summed over scales and flips; the prediction is their arg-max.

``MultiScaleInference(...)(net, image)`` works on any ``net: B×3×h×w → B×K×h×w logits`` (plain torch).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from encnet.data.transforms import IMAGENET_MEAN, IMAGENET_STD

MODES = ("slide", "whole")
RESIZE_SIDES = ("short", "long")


def window_starts(size: int, crop: int, stride: int) -> list[int]:
    """Start offsets of windows of length ``crop`` covering ``[0, size)`` (size ≥ crop), last one flush."""
    count = math.ceil(max(size - crop, 0) / stride) + 1
    return sorted({min(i * stride, size - crop) for i in range(count)})


class MultiScaleInference:
    """Summed softmax probabilities K×H×W of one image over ``scales`` × {image, flipped image}.

    Args:
        scales: multipliers of ``base_size`` (the paper: 0.5, 0.75, 1.0, 1.25, 1.5, 1.75).
        flip: also run the horizontally flipped image.
        mode: ``slide`` (windows of ``crop_size``) or ``whole`` (the resized image in one pass).
        base_size: length of ``resize_side`` at scale 1.0; ``None`` keeps the original size at scale 1.0.
        resize_side: ``short`` (default) or ``long``, the side that ``base_size`` sets.
        max_size: upper bound of the long side at scale 1.0 (``None``: none).
        align_corners: of the bilinear resizing of images and probabilities (PyTorch-Encoding: True).
        crop_size: window side in ``slide`` mode.
        stride_ratio: window stride as a fraction of ``crop_size`` (the paper's 2/3).
        window_batch: windows run through the network at once.
        mean, std: the normalisation of the input, so that padding is black like the training pad.
    """

    def __init__(
        self,
        scales: Sequence[float] = (1.0,),
        flip: bool = False,
        mode: str = "slide",
        base_size: int | None = 520,
        crop_size: int = 480,
        stride_ratio: float = 2 / 3,
        window_batch: int = 4,
        mean: Sequence[float] = IMAGENET_MEAN,
        std: Sequence[float] = IMAGENET_STD,
        resize_side: str = "short",
        max_size: int | None = None,
        align_corners: bool = False,
    ) -> None:
        scales = [float(s) for s in scales]
        if not scales or min(scales) <= 0:
            raise ValueError(f"eval.scales must be a non-empty list of positive numbers, got {scales}")
        if mode not in MODES:
            raise ValueError(f"eval.mode must be one of {MODES}, got {mode!r}")
        if resize_side not in RESIZE_SIDES:
            raise ValueError(f"eval.resize_side must be one of {RESIZE_SIDES}, got {resize_side!r}")
        if max_size is not None and max_size < 1:
            raise ValueError(f"eval.max_size must be ≥ 1 or null, got {max_size}")
        if crop_size < 1 or not 0 < stride_ratio <= 1 or window_batch < 1:
            raise ValueError(f"eval needs crop_size ≥ 1, 0 < stride_ratio ≤ 1, window_batch ≥ 1; got "
                             f"{crop_size=}, {stride_ratio=}, {window_batch=}")
        self.scales, self.flip, self.mode = scales, flip, mode
        self.base_size, self.crop_size, self.window_batch = base_size, crop_size, window_batch
        self.resize_side, self.max_size, self.align_corners = resize_side, max_size, align_corners
        self.stride = max(1, math.ceil(crop_size * stride_ratio))
        self.pad_value = [-m / d for m, d in zip(mean, std)]  # black after normalisation

    def __repr__(self) -> str:
        return (f"MultiScaleInference(scales={self.scales}, flip={self.flip}, mode={self.mode!r}, "
                f"base_size={self.base_size}, resize_side={self.resize_side!r}, max_size={self.max_size}, "
                f"crop_size={self.crop_size}, stride={self.stride}, align_corners={self.align_corners})")

    @torch.no_grad()
    def __call__(self, net: Callable[[Tensor], Tensor], image: Tensor) -> Tensor:
        """``image`` 1×3×H×W (or 3×H×W), normalised → summed probabilities 1×K×H×W."""
        if image.dim() == 3:
            image = image[None]
        if image.dim() != 4 or image.shape[0] != 1:
            raise ValueError(f"MultiScaleInference takes one image 1×3×H×W, got {tuple(image.shape)}")
        height, width = image.shape[-2:]
        total: Tensor | None = None
        for scale in self.scales:
            resized = self._resize(image, scale)
            probs = self._probabilities(net, resized)
            if self.flip:
                probs = probs + self._probabilities(net, resized.flip(-1)).flip(-1)
            probs = F.interpolate(probs, size=(height, width), mode="bilinear", align_corners=self.align_corners)
            total = probs if total is None else total + probs
        return total

    def resized_size(self, height: int, width: int, scale: float) -> tuple[int, int]:
        """(h, w) of an H×W image at ``scale``: ``resize_side`` → base_size·scale, long side ≤ max_size·scale."""
        side = min(height, width) if self.resize_side == "short" else max(height, width)
        factor = (self.base_size or side) / side
        if self.max_size:
            factor = min(factor, self.max_size / max(height, width))
        factor *= scale
        return max(1, math.floor(height * factor + 0.5)), max(1, math.floor(width * factor + 0.5))

    def _resize(self, image: Tensor, scale: float) -> Tensor:
        size = self.resized_size(*image.shape[-2:], scale)
        if size == tuple(image.shape[-2:]):
            return image
        return F.interpolate(image, size=size, mode="bilinear", align_corners=self.align_corners)

    def _probabilities(self, net: Callable[[Tensor], Tensor], image: Tensor) -> Tensor:
        """Softmax 1×K×h×w of ``image`` 1×3×h×w, whole or window-averaged."""
        if self.mode == "whole":
            return net(image).float().softmax(1)
        height, width = image.shape[-2:]
        crop = self.crop_size
        ph, pw = max(height, crop), max(width, crop)
        padded = image
        if (ph, pw) != (height, width):
            padded = image.new_tensor(self.pad_value)[None, :, None, None].expand(1, -1, ph, pw).clone()
            padded[..., :height, :width] = image
        boxes = [(y, x) for y in window_starts(ph, crop, self.stride) for x in window_starts(pw, crop, self.stride)]
        total = count = None
        for i in range(0, len(boxes), self.window_batch):
            chunk = boxes[i : i + self.window_batch]
            windows = torch.cat([padded[..., y : y + crop, x : x + crop] for y, x in chunk])
            probs = net(windows).float().softmax(1)
            if total is None:
                total = probs.new_zeros(1, probs.shape[1], ph, pw)
                count = probs.new_zeros(1, 1, ph, pw)
            for (y, x), p in zip(chunk, probs):
                total[0, :, y : y + crop, x : x + crop] += p
                count[0, :, y : y + crop, x : x + crop] += 1
        return (total / count)[..., :height, :width]
