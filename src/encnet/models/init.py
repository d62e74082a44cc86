"""Weight initialisation shared by the networks: MSRA (He et al., 2015) for convolutions, unit BatchNorm."""

from __future__ import annotations

from torch import nn


def msra_init_(model: nn.Module) -> None:
    """In place: every Conv2d ← Kaiming-normal (fan-out, ReLU gain); every BatchNorm2d ← γ = 1, β = 0."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
