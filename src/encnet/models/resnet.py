"""Dilated ResNet backbone (He et al. 2016; dilation as in the paper §4: stages 3–4 dilated, output stride 8).

The parameter names follow torchvision's ResNet (``conv1``, ``bn1``, ``layer1.0.conv1`` …), so a torchvision
ImageNet state_dict loads with ``pretrained=/path/to/resnet50.pth`` — on demand, through
:meth:`ResNet.load_pretrained_weights`, never on construction (a checkpoint that names a file stays rebuildable
without it, and offline). The deep stem (three 3×3 convs, widths
w, w, 2w) is ``conv1`` as a Sequential (indices 0, 3, 6 the convs, 1, 4 their BatchNorms) followed by ``bn1``,
the layout of PyTorch-Encoding's ``resnet50s`` (w = 64); open-mmlab's ResNetV1c (``stem.*``, w = 32) is renamed
to it on loading (:func:`rename_open_mmlab_stem`). Width multipliers ≠ 1 change shapes, so no published
weights fit them.
"""

from __future__ import annotations

import logging

from torch import Tensor, nn

from encnet.infra.weight_files import read_state_dict
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
        deep_stem: three 3×3 convs (widths s, s, 2s) instead of one 7×7 conv.
        stem_width: s of the deep stem; ``None``: half the base width (32 at ``width=1``: open-mmlab's
            ResNetV1c); PyTorch-Encoding's ``resnet50s`` has 64.
        width: multiplier on the base width 64 (0.25 gives a CPU-sized network).
        pretrained: path or URL of a torchvision-layout state_dict, or None. Only stored here: construction
            never reads it; :meth:`load_pretrained_weights` does (when training starts from scratch).
    """

    def __init__(
        self,
        depth: int = 50,
        output_stride: int = 8,
        deep_stem: bool = False,
        width: float = 1.0,
        pretrained: str | None = None,
        stem_width: int | None = None,
    ) -> None:
        super().__init__()
        if depth not in ARCHS:
            raise ValueError(f"backbone depth must be one of {sorted(ARCHS)}, got {depth}")
        if output_stride not in STRIDES:
            raise ValueError(f"output_stride must be one of {sorted(STRIDES)}, got {output_stride}")
        if width <= 0:
            raise ValueError(f"width multiplier must be > 0, got {width}")
        if stem_width is not None and (not deep_stem or stem_width < 1):
            raise ValueError(f"backbone.stem_width={stem_width} needs deep_stem=true and a width ≥ 1")
        block, layers = ARCHS[depth]
        base = max(8, int(round(64 * width)))
        stem_out = 2 * stem_width if stem_width else base
        if deep_stem:
            mid = stem_width or base // 2
            self.conv1: nn.Module = nn.Sequential(
                nn.Conv2d(3, mid, 3, 2, 1, bias=False),
                nn.BatchNorm2d(mid),
                nn.ReLU(inplace=True),
                nn.Conv2d(mid, mid, 3, 1, 1, bias=False),
                nn.BatchNorm2d(mid),
                nn.ReLU(inplace=True),
                nn.Conv2d(mid, stem_out, 3, 1, 1, bias=False),
            )
        else:
            self.conv1 = nn.Conv2d(3, base, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem_out)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)

        (s3, d3), (s4, d4) = STRIDES[output_stride]
        self._in = stem_out
        self.layer1 = self._stage(block, base, layers[0], 1, 1, 1)
        self.layer2 = self._stage(block, base * 2, layers[1], 2, 1, 1)
        self.layer3 = self._stage(block, base * 4, layers[2], s3, d3, 1)
        self.layer4 = self._stage(block, base * 8, layers[3], s4, d4, d3)
        self.stage_channels = [base * m * block.expansion for m in (1, 2, 4, 8)]
        self.output_stride = output_stride
        self.pretrained = pretrained
        msra_init_(self)

    def load_pretrained_weights(self) -> None:
        """Load ``pretrained`` into this backbone (:func:`load_pretrained`); nothing when it is None."""
        if self.pretrained:
            load_pretrained(self, self.pretrained)

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


# open-mmlab's deep stem (``stem.<i>``: conv, BN, ReLU × 3) → this backbone's ``conv1.<i>`` and ``bn1``.
OPEN_MMLAB_STEM = {"stem.0.": "conv1.0.", "stem.1.": "conv1.1.", "stem.3.": "conv1.3.", "stem.4.": "conv1.4.",
                   "stem.6.": "conv1.6.", "stem.7.": "bn1."}


def rename_open_mmlab_stem(key: str) -> str:
    """``stem.7.weight`` → ``bn1.weight`` etc.; every other key unchanged (the stages share the names)."""
    for old, new in OPEN_MMLAB_STEM.items():
        if key.startswith(old):
            return new + key[len(old):]
    return key


def load_pretrained(model: nn.Module, source: str) -> tuple[list[str], list[str]]:
    """Load a state_dict from a file path (or an http(s) URL) into ``model``, non-strictly.

    Accepts a bare state_dict or a checkpoint with a ``state_dict``/``model`` entry
    (:func:`encnet.infra.weight_files.read_state_dict`); strips ``backbone.`` prefixes and renames open-mmlab's deep
    stem (ResNetV1c: ``stem.*``). Logs missing and unexpected keys (torchvision's ``fc.*`` are expected to be
    unused); raises if a tensor's shape does not fit or if nothing matches.
    """
    state, _ = read_state_dict(source)
    state = {rename_open_mmlab_stem(k.removeprefix("backbone.")): v for k, v in state.items()}
    own = model.state_dict()
    mismatched = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    if mismatched:
        k = mismatched[0]
        raise ValueError(
            f"pretrained weights {source}: {len(mismatched)} tensors do not fit this backbone, "
            f"e.g. {k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)} "
            "(check depth/width/deep_stem/stem_width)"
        )
    if not own.keys() & state.keys():
        raise ValueError(f"pretrained weights {source}: no key matches this backbone "
                         "(is it a torchvision or open-mmlab ResNet?)")
    missing, unexpected = model.load_state_dict(state, strict=False)
    log.info("loaded %s: %d missing keys %s, %d unexpected keys %s", source, len(missing), missing[:5],
             len(unexpected), unexpected[:5])
    return list(missing), list(unexpected)
