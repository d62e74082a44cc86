"""Segmentation heads shared by the segmentors: the FCN head (baseline, and the auxiliary stage-3 head)."""

from __future__ import annotations

from torch import Tensor, nn


class FCNHead(nn.Module):
    """3×3 conv (C → ``channels``) + BN + ReLU + dropout 0.1 + 1×1 classifier: B×C×h×w → B×num_classes×h×w.

    ``channels`` defaults to C/4, as in the released code's FCNHead.
    """

    def __init__(self, in_channels: int, num_classes: int, channels: int | None = None, dropout: float = 0.1):
        super().__init__()
        channels = channels or max(in_channels // 4, 1)
        self.conv = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Sequential(nn.Dropout2d(dropout), nn.Conv2d(channels, num_classes, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.conv(x))
