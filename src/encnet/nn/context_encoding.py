"""Context Encoding Module (paper §3.1–3.2, Fig. 2).

    X (B×C×H×W) ─ conv ─ Encoding ─ BN+ReLU ─ aggregate over K ─ e (B×C) ─ FC+sigmoid ─ γ (B×C)
    Y = X ⊗ γ                                                         (channel-wise scaling, §3.2)

``e`` also feeds the SE-loss head (§3.3). The defaults follow the paper's equations; the released code
(zhanghang1989/PyTorch-Encoding, ``EncModule``) differs in three places, each an option here:

* ``aggregate``: the paper sums the K encoders, e = Σ_k φ(e_k); the release averages them (``"mean"``).
  The sum is K times larger and, measured at initialisation, drives over a quarter of γ below 0.05
  (``benchmarks/cem_gamma_saturation.py``); ``"mean"`` trains better on short schedules (README results).
* ``residual``: the paper outputs Y = X ⊗ γ; the release outputs relu(X + X ⊗ γ) (``residual=True``).
* ``pre_conv``: a 1×1 conv + BN + ReLU before the Encoding layer. The paper's Fig. 2 places a conv layer
  ahead of the encoder and the release has this one, so it is on by default.

φ is BatchNorm over the K codes (``BatchNorm1d(K)`` on B×K×C, as in the release) followed by ReLU.
``num_codes=0`` is the paper's K = 0 ablation: global average pooling replaces the Encoding layer.
"""

from __future__ import annotations

from torch import Tensor, nn

from encnet.nn.encoding import Encoding


class ContextEncoder(nn.Module):
    """Encodes a feature map into one context vector: B×C×H×W → B×C (the ``e`` of Fig. 2)."""

    def __init__(
        self,
        channels: int,
        num_codes: int = 32,
        aggregate: str = "sum",
        pre_conv: bool = True,
        impl: str = "auto",
    ) -> None:
        super().__init__()
        if aggregate not in ("sum", "mean"):
            raise ValueError(f"aggregate must be 'sum' or 'mean', got {aggregate!r}")
        if num_codes < 0:
            raise ValueError(f"num_codes must be ≥ 0 (0 = global average pooling), got {num_codes}")
        self.num_codes, self.aggregate = num_codes, aggregate
        self.pre_conv = (
            nn.Sequential(nn.Conv2d(channels, channels, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True))
            if pre_conv
            else nn.Identity()
        )
        if num_codes > 0:
            self.encoding: nn.Module = Encoding(channels, num_codes, impl=impl)
            self.norm: nn.Module = nn.Sequential(nn.BatchNorm1d(num_codes), nn.ReLU(inplace=True))
        else:
            self.encoding = nn.AdaptiveAvgPool2d(1)
            self.norm = nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        x = self.pre_conv(x)
        if self.num_codes == 0:
            return self.encoding(x).flatten(1)  # B×C
        encoded = self.norm(self.encoding(x))  # B×K×C
        return encoded.sum(dim=1) if self.aggregate == "sum" else encoded.mean(dim=1)


class ContextEncodingModule(nn.Module):
    """CEM: B×C×H×W → (Y B×C×H×W, e B×C). Y = X ⊗ γ with γ = sigmoid(W e) (paper Fig. 2)."""

    def __init__(
        self,
        channels: int,
        num_codes: int = 32,
        aggregate: str = "sum",
        residual: bool = False,
        pre_conv: bool = True,
        impl: str = "auto",
    ) -> None:
        super().__init__()
        self.encoder = ContextEncoder(channels, num_codes, aggregate=aggregate, pre_conv=pre_conv, impl=impl)
        self.fc = nn.Sequential(nn.Linear(channels, channels), nn.Sigmoid())
        self.residual = residual

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        encoded = self.encoder(x)  # B×C
        gamma = self.fc(encoded)[:, :, None, None]  # B×C×1×1
        y = (x + x * gamma).relu() if self.residual else x * gamma
        return y, encoded
