"""CIFAR classifiers of the paper's §3.5 / Table 6: a 14-layer pre-activation ResNet whose blocks are plain,
squeeze-and-excitation or Context-Encoding blocks.

    image B×3×32×32 ─ 3×3 conv (w) ─ stage 1 (w, 32×32) ─ stage 2 (2w, 16×16) ─ stage 3 (4w, 8×8)
                    ─ BN+ReLU ─ global average pool ─ FC → logits B×num_classes

Each stage has ``blocks_per_stage`` (2) pre-activation basic blocks (He et al., "Identity Mappings", 2016):

    a = ReLU(BN(x));  r = conv3×3(ReLU(BN(conv3×3(a))));  y = shortcut + gate(r)

The shortcut is x, or a strided 1×1 conv of ``a`` where the shape changes. ``gate`` rescales the residual
branch channel-wise and leaves the identity path untouched:

* ``basic``: no gate (ResNet "64d": 1 + 2·3·2 convs + 1 FC = 14 weighted layers).
* ``se``: squeeze-and-excitation, r ⊗ sigmoid(FC(ReLU(FC(GAP(r))))), reduction 16.
* ``encoding``: Context Encoding, r ⊗ sigmoid(FC(normalize(concat_k e_k))) where e = Encoding(ReLU(BN(
  conv1×1(r)))) with K codewords on C/4 channels (paper §3.5; the released CIFAR code's ``EncLayer``).
  With ``shakeout`` the Encoding layer's smoothing factors s_k are drawn from U(0, 1) on every training
  forward and are 0.5 in evaluation (:class:`encnet.nn.Encoding`).

Weights: convolutions MSRA (Kaiming normal, fan-out) initialised, BN γ = 1, β = 0.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from encnet.models.init import msra_init_
from encnet.nn import Encoding

BLOCKS = ("basic", "se", "encoding")


class SqueezeExcitation(nn.Module):
    """SE gate (Hu et al. 2018): B×C×H×W → x ⊗ sigmoid(FC(ReLU(FC(GAP(x))))), hidden C/reduction."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.fc = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels), nn.Sigmoid()
        )

    def forward(self, x: Tensor) -> Tensor:
        scale = self.fc(x.mean(dim=(2, 3)))  # B×C
        return x * scale[:, :, None, None]


class EncodingGate(nn.Module):
    """Context Encoding gate for classification (paper §3.5): B×C×H×W → x ⊗ γ, γ B×C.

    conv1×1 C→C/``reduction`` + BN + ReLU → Encoding (K codewords) → the K encoders concatenated into a
    K·C/reduction vector, L2-normalised → FC → sigmoid → γ.
    """

    def __init__(self, channels: int, num_codes: int = 16, reduction: int = 4, shakeout: bool = False) -> None:
        super().__init__()
        reduced = max(channels // reduction, 1)
        self.reduce = nn.Sequential(
            nn.Conv2d(channels, reduced, 1, bias=False), nn.BatchNorm2d(reduced), nn.ReLU(inplace=True)
        )
        self.encoding = Encoding(reduced, num_codes, shakeout=shakeout)
        self.fc = nn.Sequential(nn.Linear(num_codes * reduced, channels), nn.Sigmoid())

    def forward(self, x: Tensor) -> Tensor:
        encoded = self.encoding(self.reduce(x)).flatten(1)  # B×(K·C/r)
        gamma = self.fc(F.normalize(encoded, dim=1))  # B×C
        return x * gamma[:, :, None, None]


def make_gate(block: str, channels: int, se_reduction: int, num_codes: int, encoding_reduction: int,
              shakeout: bool) -> nn.Module:
    """The residual-branch gate of one block type (see the module docstring)."""
    if block == "basic":
        return nn.Identity()
    if block == "se":
        return SqueezeExcitation(channels, se_reduction)
    if block == "encoding":
        return EncodingGate(channels, num_codes, encoding_reduction, shakeout)
    raise ValueError(f"block must be one of {BLOCKS}, got {block!r}")


class PreActBlock(nn.Module):
    """Pre-activation basic block with a gate on the residual: B×C_in×H×W → B×C_out×H/s×W/s."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, gate: nn.Module) -> None:
        super().__init__()
        self.pre_act = nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True))
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False),
        )
        self.gate = gate
        self.projection = (
            nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)
            if stride != 1 or in_channels != out_channels
            else None
        )

    def forward(self, x: Tensor) -> Tensor:
        activated = self.pre_act(x)
        shortcut = x if self.projection is None else self.projection(activated)
        return shortcut + self.gate(self.residual(activated))


class CifarResNet(nn.Module):
    """Pre-activation ResNet for 32×32 images: B×3×H×W → logits B×num_classes.

    Args:
        num_classes: output classes (10 for CIFAR-10).
        width: channels of the stem and stage 1 (the paper's "d": 64 or 128); stages 2 and 3 double it.
        blocks_per_stage: basic blocks per stage (2: 14 weighted layers).
        block: ``basic`` | ``se`` | ``encoding``, the gate on every block's residual branch.
        se_reduction: hidden-layer reduction of the SE gate (16).
        num_codes: K of the Encoding gate (the paper's "k").
        encoding_reduction: channel reduction of the 1×1 conv ahead of the Encoding layer (4).
        shakeout: draw the Encoding layer's s_k from U(0, 1) in training, 0.5 in evaluation (§3.5).
    """

    def __init__(
        self,
        num_classes: int = 10,
        width: int = 64,
        blocks_per_stage: int = 2,
        block: str = "basic",
        se_reduction: int = 16,
        num_codes: int = 16,
        encoding_reduction: int = 4,
        shakeout: bool = False,
    ) -> None:
        super().__init__()
        if num_classes < 1 or width < 1 or blocks_per_stage < 1:
            raise ValueError(f"need num_classes, width, blocks_per_stage ≥ 1, got {num_classes=}, {width=}, "
                             f"{blocks_per_stage=}")
        self.stem = nn.Conv2d(3, width, 3, padding=1, bias=False)
        blocks: list[nn.Module] = []
        in_channels = width
        for stage in range(3):
            out_channels = width * 2**stage
            for i in range(blocks_per_stage):
                stride = 2 if stage > 0 and i == 0 else 1
                gate = make_gate(block, out_channels, se_reduction, num_codes, encoding_reduction, shakeout)
                blocks.append(PreActBlock(in_channels, out_channels, stride, gate))
                in_channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.post_act = nn.Sequential(nn.BatchNorm2d(in_channels), nn.ReLU(inplace=True))
        self.fc = nn.Linear(in_channels, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """MSRA init of the convolutions (fan-out, ReLU gain); BN γ = 1, β = 0; FC and Encoding keep theirs."""
        msra_init_(self)

    def forward(self, images: Tensor) -> Tensor:
        features = self.post_act(self.blocks(self.stem(images)))
        return self.fc(features.mean(dim=(2, 3)))
