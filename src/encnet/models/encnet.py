"""EncNet (paper §3.3, Fig. 3): dilated ResNet → Context Encoding Module → 1×1 classifier, + SE-loss heads."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from encnet.models.heads import conv_bn_relu
from encnet.models.segmentor import Segmentor
from encnet.nn import ContextEncoder, ContextEncodingModule


class EncNet(Segmentor):
    """B×3×H×W → {"out": logits B×num_classes×H×W, "se": B×num_classes presence logits,
    "se3": stage-3 presence logits, "aux": stage-3 FCN logits (the last two in training only)}.

    Stage 4 (c4) → 3×3 conv to ``head_channels`` + BN + ReLU → CEM → dropout 0.1 → 1×1 conv. The SE head is an
    FC on the CEM's encoded vector e. With ``lateral`` the CEM's input is instead the fusion (3×3 conv + BN +
    ReLU) of [conv(c4), 1×1 conv(c2), 1×1 conv(c3)] concatenated (each 1×1 conv to ``head_channels`` + BN +
    ReLU), the released PASCAL-Context models' head (mmsegmentation's ``add_lateral``). With ``stage3_se`` a light
    second encoder on stage 3 (1×1 conv to
    ``head_channels`` // 2 → Encoding → aggregate → FC) adds another SE prediction (Fig. 3); it only
    regularises training and is skipped at inference.

    Args:
        num_codes: K codewords (0 = global average pooling, the paper's K = 0 ablation).
        se_loss: build the SE head on the CEM. Without it there is no SE-loss at all: no SE head and no
            stage-3 encoder (the task builds the network with ``se_loss = se_loss_weight > 0``).
        stage3_se: with ``se_loss``, also build the stage-3 encoder with its own SE head.
        cem: the CEM's form, ``released`` (default) | ``paper``, see :mod:`encnet.nn.context_encoding`.
        encoding_impl: the Encoding layer's implementation, ``auto`` (default: Triton on CUDA when installed,
            else matmul) | ``triton`` | ``matmul`` | ``reference``, see :mod:`encnet.nn.encoding`.
        lateral: fuse stages 2 and 3 into the CEM's input (above).
        aux_channels, align_corners: see :class:`encnet.models.segmentor.Segmentor`.
    """

    def __init__(
        self,
        num_classes: int,
        backbone: dict[str, Any] | None = None,
        aux: bool = True,
        head_channels: int = 512,
        num_codes: int = 32,
        se_loss: bool = True,
        stage3_se: bool = True,
        cem: str = "released",
        dropout: float = 0.1,
        encoding_impl: str = "auto",
        lateral: bool = False,
        aux_channels: int | None = None,
        align_corners: bool = False,
    ) -> None:
        super().__init__(num_classes, backbone, aux, aux_channels, align_corners)
        c2, c3, c4 = self.backbone.stage_channels[1:]
        self.reduce = conv_bn_relu(c4, head_channels, 3)
        self.lateral = nn.ModuleList([conv_bn_relu(c, head_channels, 1) for c in (c2, c3)]) if lateral else None
        self.fusion = conv_bn_relu(3 * head_channels, head_channels, 3) if lateral else None
        self.cem = ContextEncodingModule(head_channels, num_codes, form=cem, impl=encoding_impl)
        self.classifier = nn.Sequential(nn.Dropout2d(dropout), nn.Conv2d(head_channels, num_classes, 1))
        self.se_head = nn.Linear(head_channels, num_classes) if se_loss else None
        self.stage3 = None
        if se_loss and stage3_se:
            width = max(head_channels // 2, 8)
            self.stage3 = nn.Sequential(
                nn.Conv2d(c3, width, 1, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
                ContextEncoder(width, num_codes, form=cem, pre_conv=False, impl=encoding_impl),
                nn.Linear(width, num_classes),
            )

    def decode(self, features: list[Tensor]) -> dict[str, Tensor]:
        x = self.reduce(features[3])
        if self.lateral is not None:
            laterals = [self._resize(conv(f), x.shape[-2:]) for conv, f in zip(self.lateral, features[1:3])]
            x = self.fusion(torch.cat([x, *laterals], dim=1))
        y, encoded = self.cem(x)
        outputs = {"out": self.classifier(y)}
        if self.se_head is not None:
            outputs["se"] = self.se_head(encoded)
        if self.stage3 is not None and self.training:
            outputs["se3"] = self.stage3(features[2])
        return outputs
