"""Dilated ResNet backbone (He et al. 2016; dilation as in the paper §4: stages 3–4 dilated, output stride 8).

The parameter names follow torchvision's ResNet (``conv1``, ``bn1``, ``layer1.0.conv1`` …), so a torchvision
ImageNet state_dict loads with ``pretrained=/path/to/resnet50.pth``. The deep stem (three 3×3 convs, as in
the released EncNet's ``resnet50s``) and width multipliers ≠ 1 change shapes, so such weights will not fit them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import Tensor, nn

from encnet.models.init import msra_init_

log = logging.getLogger(__name__)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_ch: int, width: int, stride: int = 1, dilation: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, width, 3, stride, padding=dilation, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, 1, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_ch: int, width: int, stride: int = 1, dilation: int = 1, downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(in_ch, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, width * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


ARCHS: dict[int, tuple[type[BasicBlock] | type[Bottleneck], tuple[int, int, int, int]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    34: (BasicBlock, (3, 4, 6, 3)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
    152: (Bottleneck, (3, 8, 36, 3)),
}
# (stride, dilation) of stages 3 and 4 for each output stride.
STRIDES = {8: ((1, 2), (1, 4)), 16: ((2, 1), (1, 2)), 32: ((2, 1), (2, 1))}


class ResNet(nn.Module):
    """Dilated ResNet: B×3×H×W → [c1, c2, c3, c4], the outputs of stages 1–4.

    Strides of c1..c4 are 4, 8, 8, 8 (``output_stride=8``: stage 3 dilation 2, stage 4 dilation 4),
    4, 8, 16, 16 (16) or 4, 8, 16, 32 (32). Channels are ``stage_channels``.

    Args:
        depth: 18, 34, 50, 101 or 152.
        output_stride: 8, 16 or 32.
        deep_stem: three 3×3 convs (widths w/2, w/2, w) instead of one 7×7 conv.
        width: multiplier on the base width 64 (0.25 gives a CPU-sized network).
        pretrained: path or URL of a torchvision-layout state_dict, or None.
    """

    def __init__(
        self,
        depth: int = 50,
        output_stride: int = 8,
        deep_stem: bool = False,
        width: float = 1.0,
        pretrained: str | None = None,
    ) -> None:
        super().__init__()
        if depth not in ARCHS:
            raise ValueError(f"backbone depth must be one of {sorted(ARCHS)}, got {depth}")
        if output_stride not in STRIDES:
            raise ValueError(f"output_stride must be one of {sorted(STRIDES)}, got {output_stride}")
        if width <= 0:
            raise ValueError(f"width multiplier must be > 0, got {width}")
        block, layers = ARCHS[depth]
        base = max(8, int(round(64 * width)))
        if deep_stem:
            self.conv1: nn.Module = nn.Sequential(
                nn.Conv2d(3, base // 2, 3, 2, 1, bias=False),
                nn.BatchNorm2d(base // 2),
                nn.ReLU(inplace=True),
                nn.Conv2d(base // 2, base // 2, 3, 1, 1, bias=False),
                nn.BatchNorm2d(base // 2),
                nn.ReLU(inplace=True),
                nn.Conv2d(base // 2, base, 3, 1, 1, bias=False),
            )
        else:
            self.conv1 = nn.Conv2d(3, base, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)

        (s3, d3), (s4, d4) = STRIDES[output_stride]
        self._in = base
        self.layer1 = self._stage(block, base, layers[0], 1, 1, 1)
        self.layer2 = self._stage(block, base * 2, layers[1], 2, 1, 1)
        self.layer3 = self._stage(block, base * 4, layers[2], s3, d3, 1)
        self.layer4 = self._stage(block, base * 8, layers[3], s4, d4, d3)
        self.stage_channels = [base * m * block.expansion for m in (1, 2, 4, 8)]
        self.output_stride = output_stride
        msra_init_(self)
        if pretrained:
            load_pretrained(self, pretrained)

    def _stage(self, block, width: int, blocks: int, stride: int, dilation: int, prev_dilation: int) -> nn.Sequential:
        out_ch = width * block.expansion
        downsample = None
        if stride != 1 or self._in != out_ch:
            downsample = nn.Sequential(nn.Conv2d(self._in, out_ch, 1, stride, bias=False), nn.BatchNorm2d(out_ch))
        # The first block keeps the previous stage's dilation (as torchvision and the released code do).
        layers = [block(self._in, width, stride, prev_dilation, downsample)]
        self._in = out_ch
        layers += [block(out_ch, width, 1, dilation) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> list[Tensor]:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        c1 = self.layer1(x)
        c2 = self.layer2(c1)
        c3 = self.layer3(c2)
        c4 = self.layer4(c3)
        return [c1, c2, c3, c4]


def load_pretrained(model: nn.Module, source: str) -> tuple[list[str], list[str]]:
    """Load a state_dict from a file path (or an http(s) URL) into ``model``, non-strictly.

    Accepts a bare state_dict or a checkpoint with a ``state_dict``/``model`` entry; strips ``module.``
    prefixes (DDP). Logs missing and unexpected keys (torchvision's ``fc.*`` are expected to be unused);
    raises if a tensor's shape does not fit or if nothing matches.
    """
    if source.startswith(("http://", "https://")):
        state = torch.hub.load_state_dict_from_url(source, map_location="cpu")
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"pretrained backbone weights not found: {path}")
        state = torch.load(path, map_location="cpu", weights_only=True)
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    state = {k.removeprefix("module."): v for k, v in state.items()}
    own = model.state_dict()
    mismatched = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    if mismatched:
        k = mismatched[0]
        raise ValueError(
            f"pretrained weights {source}: {len(mismatched)} tensors do not fit this backbone, "
            f"e.g. {k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)} (check depth/width/deep_stem)"
        )
    if not own.keys() & state.keys():
        raise ValueError(f"pretrained weights {source}: no key matches this backbone (is it a torchvision ResNet?)")
    missing, unexpected = model.load_state_dict(state, strict=False)
    log.info("loaded %s: %d missing keys %s, %d unexpected keys %s", source, len(missing), missing[:5],
             len(unexpected), unexpected[:5])
    return list(missing), list(unexpected)
