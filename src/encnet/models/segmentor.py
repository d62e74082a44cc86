"""Common frame of the segmentors: dilated ResNet → head on stage 4 (+ auxiliary FCN head on stage 3)."""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from encnet.models.heads import FCNHead
from encnet.models.resnet import ResNet


class Segmentor(nn.Module):
    """Base class: B×3×H×W → dict of outputs; ``out`` (and ``aux``) are logits B×num_classes×H×W.

    Subclasses build ``self.head`` on the stage-4 features and implement :meth:`decode`.

    Args:
        num_classes: number of classes (ignore label excluded).
        backbone: keyword arguments of :class:`encnet.models.resnet.ResNet` (depth, output_stride, …).
        aux: add the auxiliary FCN head on stage 3 (its loss weight is the task's ``aux_weight``).
        aux_channels: width of the auxiliary head's 3×3 conv; ``None``: a quarter of stage 3's channels (256
            for ResNet-50/101, as mmsegmentation's ``channels=256`` and PyTorch-Encoding's ``FCNHead``).
        align_corners: of the bilinear upsampling of the logits to the input size (False: mmsegmentation's
            EncNet configs; True: PyTorch-Encoding).
    """

    def __init__(
        self,
        num_classes: int,
        backbone: dict[str, Any] | None = None,
        aux: bool = True,
        aux_channels: int | None = None,
        align_corners: bool = False,
    ) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be ≥ 1, got {num_classes}")
        self.num_classes, self.align_corners = num_classes, align_corners
        self.backbone = ResNet(**(backbone or {}))
        self.aux_head = FCNHead(self.backbone.stage_channels[2], num_classes, aux_channels) if aux else None

    def load_pretrained_weights(self) -> None:
        """Load the backbone's ImageNet weights (``backbone.pretrained``; nothing when None), see
        :meth:`encnet.models.resnet.ResNet.load_pretrained_weights`. Construction never reads them: call this
        when training starts from scratch, not when resuming or rebuilding from a checkpoint."""
        self.backbone.load_pretrained_weights()

    def decode(self, features: list[Tensor]) -> dict[str, Tensor]:
        """Stage features [c1..c4] → dict with ``out`` logits at feature resolution and extra outputs."""
        raise NotImplementedError

    def forward(self, images: Tensor) -> dict[str, Tensor]:
        size = images.shape[-2:]
        features = self.backbone(images)
        outputs = self.decode(features)
        if self.aux_head is not None and self.training:
            outputs["aux"] = self.aux_head(features[2])
        for key in ("out", "aux"):
            if key in outputs:
                outputs[key] = self._resize(outputs[key], size)
        return outputs

    def _resize(self, x: Tensor, size: tuple[int, int]) -> Tensor:
        """Bilinear resize of B×C×h×w to B×C×``size`` with the network's ``align_corners``."""
        if tuple(x.shape[-2:]) == tuple(size):
            return x
        return F.interpolate(x, size=size, mode="bilinear", align_corners=self.align_corners)

    def head_parameters(self) -> list[nn.Parameter]:
        """Everything but the backbone (trained with the task's ``head_lr_mult``)."""
        backbone = {id(p) for p in self.backbone.parameters()}
        return [p for p in self.parameters() if id(p) not in backbone]
