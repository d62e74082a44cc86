"""The Encoding layer (eq. 1–2) as fused Triton kernels: x B×C×N, codewords K×C, scale K → B×K×C.

Forward, one program per (batch b, block of BLOCK_N positions), all K codewords at once (K padded to a
power of two and masked):

    dist_kn = ‖x_n‖² − 2 d_k·x_n + ‖d_k‖²          (a K×BLOCK_N tile, accumulated over blocks of C)
    a_kn    = softmax_k(−s_k dist_kn)                (eq. 2, in the compute dtype)
    S_bkc  += Σ_n a_kn x_cn,  A_bk += Σ_n a_kn       (partial sums, atomically added per b)

and then e_bk = S_bk − A_bk d_k (eq. 1) on the host. Nothing of size N is stored for backward: it keeps
x and the B×K sums A and recomputes a_kn from the distances, which it needs anyway.

Backward, with G = ∂L/∂E (B×K×C), W_kn = −s_k ∂L/∂logit_kn, the per-position sum w_n = Σ_k W_kn and
the softmax gradient ∂L/∂logit_kn = a_kn (g_kn − Σ_j a_jn g_jn), g_kn = (G x_n)_k − G_k·d_k:

    ∂L/∂x_n = Σ_k G_k a_kn − 2 Σ_k W_kn d_k + 2 w_n x_n
    ∂L/∂d_k = −A_k G_k − 2 Σ_n W_kn x_n + 2 (Σ_n W_kn) d_k      (summed over b)
    ∂L/∂s_k = −Σ_n (∂L/∂logit_kn) dist_kn                       (summed over b)

Both kernels read each X tile twice (distances first, then aggregation / ∂x); the second read is of the
tile the same program just read, so on a GPU it is normally served from L2.

Precision: the dot products take their operands as :mod:`encnet.nn.precision` says (fp32 inputs by
``torch.get_float32_matmul_precision()``: ieee, TF32 or bf16 operands; bf16/fp16 inputs: operands in that
dtype), always with fp32 accumulation; the softmax, norms and sums are in fp32, fp64 inputs in fp64 (on a
Triton without fp64 dot products, 3.6 and 3.7, they run by the matmul form). The output and ∂x are in x's
dtype, ∂codewords and ∂scale in theirs. On a GPU fp64 inputs always run by the matmul form (fp64 tiles spill);
the kernels compute fp64 in the interpreter, for the tests. Any strides are accepted for x (non-contiguous and
channels_last views
are read in place, no copy). Partial sums use atomics, so results may differ between runs in the last bits.

Launch: on a GPU ``triton.autotune`` picks among the tiles of :func:`encnet.nn.triton_tiles.candidates` for
(C, N, K, policy, dtype), all of them spill-free on sm_75–sm_120 (``benchmarks/triton_resources.py``); the
interpreter takes the first. :func:`picked_configs` says what autotune chose.

Importing this module imports Triton and builds the kernels: compiled for GPUs, or interpreted (numpy, on
CPU tensors) when the environment variable ``TRITON_INTERPRET=1`` is set. Triton reads it when it is itself
imported (and torch._dynamo and Lightning import it), so set it before Python starts.
"""

from __future__ import annotations

import warnings

import torch
import triton
import triton.language as tl
from torch import Tensor

from encnet.nn import triton_tiles
from encnet.nn.encoding import encoding_matmul, no_autocast
from encnet.nn.precision import dot_precision

# The Triton interpreter's bf16 dot products are wrong (it multiplies the raw bits): there, bf16 operands are
# rounded to bf16 and multiplied in fp32, which is exact (8-bit mantissas) and what a tensor core computes.
_BF16_DOT_BY_ROUNDING = tl.constexpr(bool(triton.knobs.runtime.interpret))


@triton.jit
def _dot(a, b, acc, DOT: tl.constexpr):
    """acc + a @ b with the operands of the dot-product policy DOT (:mod:`encnet.nn.precision`): "bf16"/"fp16"
    round them to that dtype, "tf32"/"ieee" take them in acc's dtype (fp32 or fp64) at that input precision."""
    if DOT == "bf16" and _BF16_DOT_BY_ROUNDING:
        return tl.dot(a.to(tl.bfloat16).to(tl.float32), b.to(tl.bfloat16).to(tl.float32), acc, input_precision="ieee")
    elif DOT == "bf16":
        return tl.dot(a.to(tl.bfloat16), b.to(tl.bfloat16), acc)
    elif DOT == "fp16":
        return tl.dot(a.to(tl.float16), b.to(tl.float16), acc)
    elif DOT == "tf32":
        return tl.dot(a.to(acc.dtype), b.to(acc.dtype), acc, input_precision="tf32")
    else:
        return tl.dot(a.to(acc.dtype), b.to(acc.dtype), acc, input_precision="ieee")


@triton.jit
def _distances(
    x_base, d_ptr, dsq_ptr, g_ptr, offs_k, mask_k, offs_n, mask_n, C, stride_xc, stride_xn,
    BLOCK_K: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_C: tl.constexpr, WITH_GRAD: tl.constexpr,
    DOT: tl.constexpr,
):
    """dist (K×N tile) = ‖x_n‖² − 2 d_k·x_n + ‖d_k‖²; with WITH_GRAD also G x_n (K×N), else zeros."""
    acc_dtype = d_ptr.dtype.element_ty
    dot = tl.zeros((BLOCK_K, BLOCK_N), acc_dtype)
    gx = tl.zeros((BLOCK_K, BLOCK_N), acc_dtype)
    x_sq = tl.zeros((BLOCK_N,), acc_dtype)
    for c0 in range(0, C, BLOCK_C):
        offs_c = c0 + tl.arange(0, BLOCK_C)
        mask_c = offs_c < C
        x = tl.load(
            x_base + offs_c[:, None] * stride_xc + offs_n[None, :] * stride_xn,
            mask=mask_c[:, None] & mask_n[None, :], other=0.0,
        )
        kc = offs_k[:, None] * C + offs_c[None, :]
        mask_kc = mask_k[:, None] & mask_c[None, :]
        d = tl.load(d_ptr + kc, mask=mask_kc, other=0.0)
        dot = _dot(d, x, dot, DOT)
        x_f = x.to(acc_dtype)
        x_sq += tl.sum(x_f * x_f, axis=0)
        if WITH_GRAD:
            g = tl.load(g_ptr + kc, mask=mask_kc, other=0.0)
            gx = _dot(g, x, gx, DOT)
    d_sq = tl.load(dsq_ptr + offs_k, mask=mask_k, other=0.0)
    return x_sq[None, :] - 2.0 * dot + d_sq[:, None], gx


@triton.jit
def _assignments(dist, s, mask_k, mask_n):
    """a_kn = softmax over k of −s_k dist_kn (eq. 2); padded codewords and positions get 0."""
    logits = tl.where(mask_k[:, None], -s[:, None] * dist, float("-inf"))
    e = tl.exp(logits - tl.max(logits, axis=0)[None, :])
    a = e / tl.sum(e, axis=0)[None, :]
    return tl.where(mask_n[None, :], a, 0.0)


@triton.jit
def _encoding_forward_kernel(
    x_ptr, d_ptr, s_ptr, dsq_ptr, sums_ptr, mass_ptr,
    C, N, K, stride_xb, stride_xc, stride_xn,
    BLOCK_N: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_K: tl.constexpr, DOT: tl.constexpr,
):
    b = tl.program_id(1).to(tl.int64)  # 64-bit offsets: B·C·N may exceed 2³¹
    offs_n = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_k = tl.arange(0, BLOCK_K)
    mask_n, mask_k = offs_n < N, offs_k < K
    x_base = x_ptr + b * stride_xb
    dist, _ = _distances(
        x_base, d_ptr, dsq_ptr, d_ptr, offs_k, mask_k, offs_n, mask_n, C, stride_xc, stride_xn,
        BLOCK_K, BLOCK_N, BLOCK_C, False, DOT,
    )
    a = _assignments(dist, tl.load(s_ptr + offs_k, mask=mask_k, other=0.0), mask_k, mask_n)
    tl.atomic_add(mass_ptr + b * K + offs_k, tl.sum(a, axis=1), mask=mask_k)
    for c0 in range(0, C, BLOCK_C):
        offs_c = c0 + tl.arange(0, BLOCK_C)
        mask_c = offs_c < C
        x = tl.load(
            x_base + offs_c[:, None] * stride_xc + offs_n[None, :] * stride_xn,
            mask=mask_c[:, None] & mask_n[None, :], other=0.0,
        )
        partial = _dot(a, tl.trans(x), tl.zeros((BLOCK_K, BLOCK_C), a.dtype), DOT)  # Σ_n a_kn x_cn, K×BLOCK_C
        tl.atomic_add(
            sums_ptr + b * K * C + offs_k[:, None] * C + offs_c[None, :], partial,
            mask=mask_k[:, None] & mask_c[None, :],
        )


@triton.jit
def _encoding_backward_kernel(
    x_ptr, d_ptr, s_ptr, dsq_ptr, g_ptr, gd_ptr, dx_ptr, wx_ptr, wsum_ptr, ds_ptr,
    C, N, K, stride_xb, stride_xc, stride_xn, stride_db, stride_dc, stride_dn,
    BLOCK_N: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_K: tl.constexpr, DOT: tl.constexpr,
):
    b = tl.program_id(1).to(tl.int64)  # 64-bit offsets: B·C·N may exceed 2³¹
    offs_n = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_k = tl.arange(0, BLOCK_K)
    mask_n, mask_k = offs_n < N, offs_k < K
    x_base = x_ptr + b * stride_xb
    g_base = g_ptr + b * K * C
    dist, gx = _distances(
        x_base, d_ptr, dsq_ptr, g_base, offs_k, mask_k, offs_n, mask_n, C, stride_xc, stride_xn,
        BLOCK_K, BLOCK_N, BLOCK_C, True, DOT,
    )
    s = tl.load(s_ptr + offs_k, mask=mask_k, other=0.0)
    a = _assignments(dist, s, mask_k, mask_n)
    # ∂L/∂a_kn = G_k·(x_n − d_k), then through the softmax over k.
    da = gx - tl.load(gd_ptr + b * K + offs_k, mask=mask_k, other=0.0)[:, None]
    dlogits = a * (da - tl.sum(a * da, axis=0)[None, :])
    w = -s[:, None] * dlogits  # ∂L/∂dist_kn
    tl.atomic_add(ds_ptr + b * K + offs_k, -tl.sum(dlogits * dist, axis=1), mask=mask_k)
    tl.atomic_add(wsum_ptr + b * K + offs_k, tl.sum(w, axis=1), mask=mask_k)
    w_n = tl.sum(w, axis=0)
    for c0 in range(0, C, BLOCK_C):
        offs_c = c0 + tl.arange(0, BLOCK_C)
        mask_c = offs_c < C
        mask_cn = mask_c[:, None] & mask_n[None, :]
        x = tl.load(
            x_base + offs_c[:, None] * stride_xc + offs_n[None, :] * stride_xn, mask=mask_cn, other=0.0
        )
        kc = offs_k[:, None] * C + offs_c[None, :]
        mask_kc = mask_k[:, None] & mask_c[None, :]
        g = tl.load(g_base + kc, mask=mask_kc, other=0.0)
        d = tl.load(d_ptr + kc, mask=mask_kc, other=0.0)
        dx = _dot(tl.trans(g), a, tl.zeros((BLOCK_C, BLOCK_N), a.dtype), DOT)
        dx = _dot(tl.trans(d), -2.0 * w, dx, DOT)
        dx += 2.0 * x.to(a.dtype) * w_n[None, :]
        tl.store(
            dx_ptr + b * stride_db + offs_c[:, None] * stride_dc + offs_n[None, :] * stride_dn,
            dx.to(dx_ptr.dtype.element_ty), mask=mask_cn,
        )
        wx = _dot(w, tl.trans(x), tl.zeros((BLOCK_K, BLOCK_C), a.dtype), DOT)  # Σ_n W_kn x_cn
        tl.atomic_add(wx_ptr + b * K * C + kc, wx, mask=mask_kc)


def _interpreted(fn) -> bool:
    return not isinstance(fn, triton.runtime.JITFunction)


INTERPRETED = _interpreted(_encoding_forward_kernel)
"""True when the kernels were built by the Triton interpreter (TRITON_INTERPRET=1 at import)."""
# Triton's own tl.sum, tl.max … are built when Triton is imported: the interpreter needs them interpreted too.
_INTERPRETER_TOO_LATE = INTERPRETED and not _interpreted(tl.sum)


def _autotuned(kernel: str, fn, reset: list[str]):
    """``fn`` autotuned on a GPU among :func:`encnet.nn.triton_tiles.candidates` for its K, policy and dtype
    (Triton skips candidates that do not launch on the device, e.g. for lack of shared memory); the
    atomically accumulated outputs ``reset`` are zeroed before each trial."""
    def prune(configs, named_args, **kwargs):
        x = named_args["x_ptr"]
        major, minor = torch.cuda.get_device_capability(x.device)
        dtype, capability = _DTYPE_NAMES[x.dtype], 10 * major + minor
        return triton_tiles.candidates(kernel, named_args["K"], kwargs["DOT"], dtype, capability)

    every = triton_tiles.all_candidates(kernel)
    return triton.autotune(every, key=["C", "N", "K", "DOT"], reset_to_zero=reset,
                           prune_configs_by={"early_config_prune": prune})(fn)


_DTYPE_NAMES = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16", torch.float64: "fp64"}
_TUNED = {
    "forward": _autotuned("forward", _encoding_forward_kernel, ["sums_ptr", "mass_ptr"]),
    "backward": _autotuned("backward", _encoding_backward_kernel, ["wx_ptr", "wsum_ptr", "ds_ptr"]),
}
_RAW = {"forward": _encoding_forward_kernel, "backward": _encoding_backward_kernel}
_LAST_LAUNCH: dict[str, tuple[triton.Config, object]] = {}  # kernel → (configuration, compiled kernel)


def _launch(kernel: str, args: tuple, n: int, batch: int, num_codes: int, dtype: torch.dtype, dot: str) -> None:
    """Launch ``kernel`` on ``args`` over (blocks of N, B) with BLOCK_K for ``num_codes`` and the policy ``dot``:
    autotuned on a GPU; in the interpreter with the first candidate."""
    meta = {"BLOCK_K": triton_tiles.block_k(num_codes), "DOT": dot}
    if num_codes > triton_tiles.MAX_CODES:
        raise ValueError(f"Encoding kernels: no tiles for K={num_codes} (K ≤ {triton_tiles.MAX_CODES}); use the "
                         "matmul form")
    if INTERPRETED:
        config = triton_tiles.candidates(kernel, num_codes, dot, _DTYPE_NAMES[dtype])[0]
        _RAW[kernel][(triton.cdiv(n, config.kwargs["BLOCK_N"]), batch)](*args, **meta, **config.kwargs)
        return
    tuned = _TUNED[kernel]
    compiled = tuned[lambda m: (triton.cdiv(n, m["BLOCK_N"]), batch)](*args, **meta)
    _LAST_LAUNCH[kernel] = (tuned.best_config, compiled)


def picked_configs() -> dict[str, dict]:
    """For each kernel launched on a GPU so far, the configuration autotune picked for the last launch and the
    loaded kernel's registers, spills and shared memory (``n_regs``, ``n_spills``, ``shared``)."""
    out = {}
    for kernel, (config, compiled) in _LAST_LAUNCH.items():
        out[kernel] = {"config": str(config), "n_regs": compiled.n_regs, "n_spills": compiled.n_spills,
                       "shared": compiled.metadata.shared}
    return out


def _check_usable(x: Tensor) -> None:
    if _INTERPRETER_TOO_LATE:
        raise RuntimeError(
            "Encoding impl='triton': TRITON_INTERPRET=1 was set after Triton had been imported (torch._dynamo "
            "and Lightning import it), so the Triton interpreter cannot run. Set it in the environment before "
            "Python starts (TRITON_INTERPRET=1 python ...), or use impl='matmul'."
        )
    if x.device.type != "cuda" and not INTERPRETED:
        raise RuntimeError(
            f"Encoding impl='triton' got {x.device.type} tensors, but Triton kernels run on CUDA GPUs. "
            "Set the environment variable TRITON_INTERPRET=1 before starting Python to run them through the "
            "Triton interpreter on CPU (slow; for tests), or use impl='matmul'."
        )


class EncodingFunction(torch.autograd.Function):
    """Autograd wrapper of the two kernels (first-order gradients only)."""

    @staticmethod
    def forward(ctx, x: Tensor, codewords: Tensor, scale: Tensor) -> Tensor:
        batch, channels, n = x.shape
        k = codewords.shape[0]
        compute = torch.float64 if x.dtype == torch.float64 else torch.float32
        dot = dot_precision(x.dtype, x.device)
        d = codewords.detach().to(compute).contiguous()
        s = scale.detach().to(compute).contiguous()
        d_sq = d.square().sum(1)
        sums = torch.zeros(batch, k, channels, dtype=compute, device=x.device)  # Σ_n a_kn x_n
        mass = torch.zeros(batch, k, dtype=compute, device=x.device)  # Σ_n a_kn
        if n > 0:
            _launch("forward", (x, d, s, d_sq, sums, mass, channels, n, k, *x.stride()), n, batch, k, x.dtype, dot)
        ctx.save_for_backward(x, d, s, d_sq, mass)
        ctx.param_dtypes, ctx.dot = (codewords.dtype, scale.dtype), dot
        return (sums - mass[..., None] * d).to(x.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        x, d, s, d_sq, mass = ctx.saved_tensors
        batch, channels, n = x.shape
        k = d.shape[0]
        g = grad_out.to(d.dtype).contiguous()
        g_dot_d = (g * d).sum(-1)  # G_k·d_k, B×K
        dx = torch.empty_like(x)
        wx = torch.zeros_like(g)  # Σ_n W_kn x_n per b
        w_sum = torch.zeros_like(mass)  # Σ_n W_kn per b
        ds = torch.zeros_like(mass)
        if n > 0:
            args = (x, d, s, d_sq, g, g_dot_d, dx, wx, w_sum, ds, channels, n, k, *x.stride(), *dx.stride())
            _launch("backward", args, n, batch, k, x.dtype, ctx.dot)
        dd = 2.0 * w_sum.sum(0)[:, None] * d - 2.0 * wx.sum(0) - (mass[..., None] * g).sum(0)
        d_dtype, s_dtype = ctx.param_dtypes
        return dx, dd.to(d_dtype), ds.sum(0).to(s_dtype)


@torch.compiler.disable
def encoding_triton(x: Tensor, codewords: Tensor, scale: Tensor) -> Tensor:
    """Encoding by the fused Triton kernels: x B×C×N, codewords K×C, scale K → B×K×C in x's dtype.

    CUDA tensors, or CPU tensors through the interpreter (TRITON_INTERPRET=1). Autocast is switched off
    inside (the kernels pick their own precision). ``torch.compile`` does not trace into it: the call is a
    graph break and runs eagerly.
    """
    _check_usable(x)
    if x.dtype == torch.float64 and (not triton_tiles.FP64_DOTS or not INTERPRETED):
        if not _WARNED_FP64:
            _WARNED_FP64.append(True)
            why = (f"Triton {triton.__version__} has no fp64 dot products" if not triton_tiles.FP64_DOTS
                   else "the compiled kernels take fp32, bf16 and fp16 (fp64 tiles spill)")
            warnings.warn(f"Encoding impl='triton': {why}; fp64 inputs run by the matmul form", stacklevel=3)
        return encoding_matmul(x, codewords, scale)
    with no_autocast(x):
        return EncodingFunction.apply(x, codewords, scale)


_WARNED_FP64: list[bool] = []
