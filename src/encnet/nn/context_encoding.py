"""Context Encoding Module (paper §3.1–3.2, Fig. 2).

    X (B×C×H×W) ─ 1×1 conv+BN+ReLU ─ Encoding ─ BN+ReLU ─ aggregate over K ─ e (B×C) ─ FC+sigmoid ─ γ (B×C)

``e`` also feeds the SE-loss head (§3.3). One switch, ``form``, picks between the two published forms:

============  ==========================================  ==============================================
``form``      aggregation of the K encoders               output
============  ==========================================  ==============================================
``released``  e = mean_k φ(e_k)                           Y = relu(X + X ⊗ γ)
``paper``     e = Σ_k φ(e_k)             (§3.1)           Y = X ⊗ γ                              (§3.2)
============  ==========================================  ==============================================

``released`` is the module of the authors' code (zhanghang1989/PyTorch-Encoding, ``EncModule``) and of
mmsegmentation (``EncModule``): the form that produced the published numbers, and the default. The paper's
sum is K times larger and drives a large share of γ towards 0 or 1 at initialisation
(``benchmarks/cem_gamma_saturation.py``). Both forms put a 1×1 conv + BN + ReLU ahead of the Encoding
layer (the conv of Fig. 2; the released ``EncModule`` has it).

φ is BatchNorm over the K codes (``BatchNorm1d(K)`` on B×K×C, as in the release) followed by ReLU.
``num_codes=0`` is the paper's K = 0 ablation: global average pooling replaces the Encoding layer.
"""

from __future__ import annotations

from torch import Tensor, nn

from encnet.nn.encoding import Encoding

CEM_FORMS = ("released", "paper")


def check_form(form: str) -> str:
    if form not in CEM_FORMS:
        raise ValueError(f"cem must be one of {list(CEM_FORMS)}, got {form!r}")
    return form


class ContextEncoder(nn.Module):
    """Encodes a feature map into one context vector: B×C×H×W → B×C (the ``e`` of Fig. 2).

    Args:
        channels: C.
        num_codes: K codewords (0 = global average pooling).
        form: ``released`` (mean over the K codes) | ``paper`` (sum over them, §3.1).
        pre_conv: the 1×1 conv + BN + ReLU ahead of the Encoding layer.
        impl: the Encoding layer's implementation (see :class:`encnet.nn.Encoding`).
    """

    def __init__(
        self, channels: int, num_codes: int = 32, form: str = "released", pre_conv: bool = True, impl: str = "auto"
    ) -> None:
        super().__init__()
        if num_codes < 0:
            raise ValueError(f"num_codes must be ≥ 0 (0 = global average pooling), got {num_codes}")
        self.num_codes, self.form = num_codes, check_form(form)
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
        return encoded.sum(dim=1) if self.form == "paper" else encoded.mean(dim=1)


class ContextEncodingModule(nn.Module):
    """CEM: B×C×H×W → (Y B×C×H×W, e B×C), γ = sigmoid(W e + b) (Fig. 2); Y as ``form`` says (table above)."""

    def __init__(self, channels: int, num_codes: int = 32, form: str = "released", impl: str = "auto") -> None:
        super().__init__()
        self.encoder = ContextEncoder(channels, num_codes, form=form, impl=impl)
        self.fc = nn.Sequential(nn.Linear(channels, channels), nn.Sigmoid())
        self.form = form

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        encoded = self.encoder(x)  # B×C
        gamma = self.fc(encoded)[:, :, None, None]  # B×C×1×1
        y = (x + x * gamma).relu() if self.form == "released" else x * gamma
        return y, encoded
