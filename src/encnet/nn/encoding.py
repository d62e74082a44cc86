"""The Encoding layer (paper §3.1, eq. 1–2).

Given features X = {x_1..x_N} (N = H·W vectors of C dims), K codewords d_k and smoothing factors s_k:

    r_ik = x_i − d_k
    a_ik = exp(−s_k‖r_ik‖²) / Σ_j exp(−s_j‖r_ij‖²)          (eq. 2, soft assignment)
    e_k  = Σ_i a_ik r_ik                                      (eq. 1, residual encoder)

Shapes: X is B×C×N (or B×C×H×W), the output E is B×K×C.

``encoding_matmul`` expands ‖x_i − d_k‖² = ‖x_i‖² − 2 x_i·d_k + ‖d_k‖² and
Σ_i a_ik (x_i − d_k) = (Aᵀ X)_k − (Σ_i a_ik) d_k, so it needs only B×K×N and B×K×C intermediates.
``encoding_reference`` builds the B×N×K×C residual tensor literally; it exists to test the others.
``encoding_triton`` (:mod:`encnet.nn.triton_kernels`) fuses both steps and their gradients in Triton kernels.
``impl="auto"`` (the default) picks Triton for CUDA tensors when Triton is installed and the kernels pass a
self-check on that device (:func:`triton_usable`; it takes gradients whatever the caller's grad mode), the
matmul form otherwise; a model being exported or traced (ONNX, TorchScript) always runs the matmul form.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import torch
from torch import Tensor, nn

from encnet.nn.precision import dot_operands, dot_precision

IMPLEMENTATIONS = ("auto", "triton", "matmul", "reference")
SHAKEOUT_EVAL_SCALE = 0.5  # s_k at evaluation when shakeout is on (paper §3.5)


def _as_fp32(*tensors: Tensor) -> list[Tensor]:
    return [t if t.dtype in (torch.float32, torch.float64) else t.float() for t in tensors]


def soft_assignment(x: Tensor, codewords: Tensor, scale: Tensor, precision: str = "ieee") -> Tensor:
    """The weights a_ik of eq. 2: x B×C×N, codewords K×C, scale K → B×K×N (softmax over the K codewords).

    ‖x_i − d_k‖² is expanded as ‖x_i‖² − 2 x_i·d_k + ‖d_k‖², without a B×N×K×C tensor; the product x_i·d_k
    takes its operands as the dot-product ``precision`` policy says (:mod:`encnet.nn.precision`).
    """
    x_sq = torch.linalg.vector_norm(x, dim=1, keepdim=True).square()  # B×1×N
    d_sq = codewords.square().sum(dim=1)[:, None]  # K×1
    d_op, x_op = dot_operands(precision, codewords, x)
    dist = torch.matmul(d_op, x_op).mul(-2.0).add(x_sq).add(d_sq)  # B×K×N
    return torch.softmax(-scale[:, None] * dist, dim=1)


def no_autocast(x: Tensor):
    """Autocast switched off on ``x``'s device; nothing on a device without autocast (``meta``: shapes only)."""
    if torch.amp.is_autocast_available(x.device.type):
        return torch.autocast(device_type=x.device.type, enabled=False)
    return contextlib.nullcontext()


def encoding_matmul(x: Tensor, codewords: Tensor, scale: Tensor) -> Tensor:
    """Encoding by matrix products: x B×C×N, codewords K×C, scale K → B×K×C in x's dtype.

    Computed in fp32 (fp64 for fp64 inputs): norms, softmax and sums; the two matrix products take their
    operands as the dot-product policy of :func:`encnet.nn.precision.dot_precision` says (bf16/fp16 inputs:
    operands in that dtype; fp32 inputs: by ``torch.get_float32_matmul_precision()``), as the Triton kernels do.
    """
    out_dtype = x.dtype
    precision = dot_precision(x.dtype, x.device)
    with no_autocast(x):
        x, codewords, scale = _as_fp32(x, codewords, scale)
        codewords = codewords.to(x.dtype)
        scale = scale.to(x.dtype)
        assign = soft_assignment(x, codewords, scale, precision)  # B×K×N
        # e_k = Σ_i a_ik x_i − (Σ_i a_ik) d_k
        a_op, x_op = dot_operands(precision, assign, x)
        encoded = torch.bmm(a_op, x_op.transpose(1, 2)) - assign.sum(dim=2, keepdim=True) * codewords
    return encoded.to(out_dtype)


def encoding_reference(x: Tensor, codewords: Tensor, scale: Tensor) -> Tensor:
    """Literal eq. 1–2 with a B×N×K×C residual tensor (tests and benchmarks only)."""
    out_dtype = x.dtype
    x, codewords, scale = _as_fp32(x, codewords, scale)
    residual = x.transpose(1, 2)[:, :, None, :] - codewords.to(x.dtype)  # B×N×K×C
    assign = torch.softmax(-scale.to(x.dtype) * residual.square().sum(-1), dim=2)  # B×N×K
    return (assign[..., None] * residual).sum(dim=1).to(out_dtype)


_TRITON_IMPORT: dict[str, bool] = {}  # whether the Triton kernels import, once known (plain dict: dynamo traces it)


def triton_available() -> bool:
    """Whether the Triton kernels import. Asked only when a Triton path is wanted, so that CPU-only runs never
    import Triton for the Encoding layer."""
    if "ok" not in _TRITON_IMPORT:
        try:
            import encnet.nn.triton_kernels  # noqa: F401
        except ImportError:
            _TRITON_IMPORT["ok"] = False
        else:
            _TRITON_IMPORT["ok"] = True
    return _TRITON_IMPORT["ok"]


_TRITON_CHECKED: dict[str, bool] = {}  # device → whether the kernels passed the self-check there


@torch.compiler.disable
def triton_usable(device: torch.device) -> bool:
    """Whether the Triton kernels import and, on ``device``, reproduce the matmul form's output and gradients
    on a small input (checked once per device; a failure warns and ``auto`` falls back to ``matmul``)."""
    key = str(device)
    if key not in _TRITON_CHECKED:
        _TRITON_CHECKED[key] = triton_available() and _self_check(device)
    return _TRITON_CHECKED[key]


def _self_check(device: torch.device) -> bool:
    """Triton vs matmul form, output and gradients, on a small input on ``device`` (CPU: the interpreter).

    Runs with gradients on whatever the caller's grad mode (``no_grad``, ``inference_mode``: the first call often
    comes from evaluation), on fresh tensors made here."""
    with torch.inference_mode(False), torch.enable_grad():
        return _compare_with_matmul(device)


def _compare_with_matmul(device: torch.device) -> bool:
    from encnet.nn.triton_kernels import encoding_triton

    g = torch.Generator().manual_seed(0)
    inputs = [t.to(device) for t in (torch.randn(2, 24, 70, generator=g), torch.randn(5, 24, generator=g) * 0.3,
                                     torch.rand(5, generator=g))]
    results = []
    try:
        for fn in (encoding_triton, encoding_matmul):
            leaves = [t.clone().requires_grad_() for t in inputs]
            out = fn(*leaves)
            grads = torch.autograd.grad(out.square().sum(), leaves)
            results.append([out, *grads])
        for a, b in zip(*results):
            torch.testing.assert_close(a, b, rtol=1e-3, atol=1e-3)
    except Exception as err:  # noqa: BLE001 — any failure means: do not use the kernels here
        warnings.warn(f"Encoding impl='auto': the Triton kernels failed their self-check on {device} "
                      f"({type(err).__name__}: {str(err)[:200]}); using impl='matmul'", stacklevel=3)
        return False
    return True


def exporting() -> bool:
    """Whether the model is being exported or traced (ONNX, ``torch.export``, ``torch.jit.trace``)."""
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or torch.compiler.is_exporting()


def resolve_impl(impl: str, x: Tensor) -> str:
    """The implementation ``impl`` stands for on ``x``: ``auto`` → ``triton`` on CUDA when the kernels pass
    their self-check there, else ``matmul``. While the model is exported or traced, ``auto`` and ``triton``
    are the matmul form (Triton kernels do not export). The Triton kernels sum with atomics (run-to-run float
    order varies), so under ``torch.use_deterministic_algorithms(True)`` (Lightning's ``deterministic=True``)
    ``auto`` is ``matmul`` and an explicit ``triton`` is an error (a warning in ``warn_only`` mode, as torch does
    for its own nondeterministic kernels)."""
    if impl not in IMPLEMENTATIONS:
        raise ValueError(f"Encoding impl must be one of {IMPLEMENTATIONS}, got {impl!r}")
    if impl in ("auto", "triton") and exporting():
        return "matmul"
    deterministic = torch.are_deterministic_algorithms_enabled()
    if impl == "auto":
        return "triton" if x.is_cuda and not deterministic and triton_usable(x.device) else "matmul"
    if impl == "triton" and deterministic:
        message = ("Encoding impl='triton' is not deterministic (atomic sums) and deterministic algorithms are on "
                   "(trainer.deterministic): use impl='auto' or 'matmul'")
        if not torch.is_deterministic_algorithms_warn_only_enabled():
            raise RuntimeError(message)
        warnings.warn(message, stacklevel=3)
    return impl


def encoding(x: Tensor, codewords: Tensor, scale: Tensor, impl: str = "auto") -> Tensor:
    """Dispatch to one implementation of eq. 1–2: x B×C×N, codewords K×C, scale K → B×K×C."""
    resolved = resolve_impl(impl, x)
    if resolved == "triton":
        if not triton_available():
            raise RuntimeError("Encoding impl='triton' needs the triton package (pip install triton), or impl='matmul'")
        return _encoding_triton_or_fallback(x, codewords, scale, requested=impl)
    if resolved == "matmul":
        return encoding_matmul(x, codewords, scale)
    return encoding_reference(x, codewords, scale)


_TRITON_UNFIT: dict[tuple[str, int], str] = {}  # (device, K) → why the kernels cannot run there (auto: matmul)


def _encoding_triton_or_fallback(x: Tensor, codewords: Tensor, scale: Tensor, requested: str) -> Tensor:
    """The Triton kernels; where they have no tiles for K or none of them launches on the device, ``auto``
    runs the matmul form (one warning per device and K) and an explicit ``triton`` is an error."""
    import triton

    from encnet.nn.triton_kernels import encoding_triton  # imports Triton: only when it is used
    from encnet.nn.triton_tiles import MAX_CODES

    key = (str(x.device), codewords.shape[0])
    if key not in _TRITON_UNFIT:
        if key[1] > MAX_CODES:
            _TRITON_UNFIT[key] = f"the kernels have tiles for K ≤ {MAX_CODES}, not K={key[1]}"
        else:
            try:
                return encoding_triton(x, codewords, scale)
            except triton.runtime.errors.OutOfResources as err:
                _TRITON_UNFIT[key] = f"no tile configuration launches on {x.device} ({err})"
        if requested == "auto":
            warnings.warn(f"Encoding impl='auto': {_TRITON_UNFIT[key]}; using impl='matmul'", stacklevel=3)
    if requested == "triton":
        raise RuntimeError(f"Encoding impl='triton': {_TRITON_UNFIT[key]}; use impl='auto' or 'matmul'")
    return encoding_matmul(x, codewords, scale)


class Encoding(nn.Module):
    """Encoding layer: B×C×H×W (or B×C×N) features → B×K×C residual encoders.

    Args:
        channels: C, the feature dimension.
        num_codes: K, the number of codewords (≥ 1).
        impl: ``"auto"`` (default: ``"triton"`` for CUDA tensors when Triton is installed, else ``"matmul"``),
            ``"triton"`` (fused kernels; on CPU only through the interpreter, ``TRITON_INTERPRET=1``),
            ``"matmul"`` (memory-light matrix products) or ``"reference"`` (broadcast form, for tests).
        shakeout: paper §3.5 (CIFAR): in training the smoothing factors are drawn from U(0, 1) on every
            forward instead of the learnt ``scale``; in evaluation they are all 0.5. ``scale`` is then frozen.

    Parameters: ``codewords`` K×C, uniform in ±1/√(K·C); ``scale`` K (the paper's s_k > 0), uniform in (0, 1).
    """

    def __init__(self, channels: int, num_codes: int, impl: str = "auto", shakeout: bool = False) -> None:
        super().__init__()
        if channels < 1 or num_codes < 1:
            raise ValueError(f"Encoding needs channels ≥ 1 and num_codes ≥ 1, got {channels=}, {num_codes=}")
        if impl not in IMPLEMENTATIONS:
            raise ValueError(f"Encoding impl must be one of {IMPLEMENTATIONS}, got {impl!r}")
        self.channels, self.num_codes, self.impl, self.shakeout = channels, num_codes, impl, shakeout
        self.codewords = nn.Parameter(torch.empty(num_codes, channels))
        # With shakeout the s_k are drawn, never learnt: keep `scale` out of the optimiser and of DDP's
        # unused-parameter check.
        self.scale = nn.Parameter(torch.empty(num_codes), requires_grad=not shakeout)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.num_codes * self.channels)
        nn.init.uniform_(self.codewords, -bound, bound)
        nn.init.uniform_(self.scale, 0.0, 1.0)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 4:
            x = x.flatten(2)
        if x.dim() != 3 or x.shape[1] != self.channels:
            raise ValueError(f"Encoding expects B×{self.channels}×H×W or B×{self.channels}×N, got {tuple(x.shape)}")
        return encoding(x, self.codewords, self.smoothing_factors(), self.impl)

    def assignments(self, x: Tensor) -> Tensor:
        """Soft-assignment maps (eq. 2) of features B×C×H×W → B×K×H×W: how much each position belongs to each
        codeword (sums to 1 over K); for inspection, in fp32."""
        weights = soft_assignment(x.flatten(2).float(), self.codewords.float(), self.smoothing_factors().float())
        return weights.unflatten(2, x.shape[-2:])

    def smoothing_factors(self) -> Tensor:
        """The s_k used by this forward (K): the learnt ``scale``, or shakeout's U(0, 1) / 0.5 draws."""
        if not self.shakeout:
            return self.scale
        if self.training:
            return torch.rand_like(self.scale)
        return torch.full_like(self.scale, SHAKEOUT_EVAL_SCALE)

    def extra_repr(self) -> str:
        shakeout = ", shakeout=True" if self.shakeout else ""
        return f"channels={self.channels}, num_codes={self.num_codes}, impl={self.impl!r}{shakeout}"
