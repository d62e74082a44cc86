"""Segmentation heads shared by the segmentors: conv + BN + ReLU, the FCN head (baseline, auxiliary stage-3 head)."""

from __future__ import annotations

from torch import Tensor, nn


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    """k×k conv (no bias, same padding) + BN + ReLU: B×C_in×h×w → B×C_out×h×w (indices 0, 1, 2)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class FCNHead(nn.Module):
    """3×3 conv (C → ``channels``) + BN + ReLU + dropout 0.1 + 1×1 classifier: B×C×h×w → B×num_classes×h×w.

    ``channels`` defaults to C/4, as in the released code's FCNHead.
    """

    def __init__(self, in_channels: int, num_classes: int, channels: int | None = None, dropout: float = 0.1):
        super().__init__()
        channels = channels or max(in_channels // 4, 1)
        self.conv = conv_bn_relu(in_channels, channels, 3)
        self.classifier = nn.Sequential(nn.Dropout2d(dropout), nn.Conv2d(channels, num_classes, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.conv(x))
