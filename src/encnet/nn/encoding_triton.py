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

Precision: fp16/bf16/fp32 inputs are loaded and computed in fp32 (dot products with ``input_precision=
"ieee"``, i.e. no TF32), fp64 in fp64; the output and ∂x are in x's dtype, ∂codewords and ∂scale in theirs.
Any strides are accepted for x (non-contiguous and channels_last views are read in place, no copy).
Partial sums use atomics, so results may differ between runs in the last bits.

Importing this module imports Triton and builds the kernels: compiled for GPUs, or interpreted (numpy, on
CPU tensors) when the environment variable ``TRITON_INTERPRET=1`` is set. Triton reads it when it is itself
imported (and torch._dynamo and Lightning import it), so set it before Python starts.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor


@triton.jit
def _distances(
    x_base, d_ptr, dsq_ptr, g_ptr, offs_k, mask_k, offs_n, mask_n, C, stride_xc, stride_xn,
    BLOCK_K: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_C: tl.constexpr, WITH_GRAD: tl.constexpr,
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
        ).to(acc_dtype)
        kc = offs_k[:, None] * C + offs_c[None, :]
        mask_kc = mask_k[:, None] & mask_c[None, :]
        d = tl.load(d_ptr + kc, mask=mask_kc, other=0.0)
        dot = tl.dot(d, x, dot, input_precision="ieee")
        x_sq += tl.sum(x * x, axis=0)
        if WITH_GRAD:
            g = tl.load(g_ptr + kc, mask=mask_kc, other=0.0)
            gx = tl.dot(g, x, gx, input_precision="ieee")
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
    BLOCK_N: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_K: tl.constexpr,
):
    b = tl.program_id(1).to(tl.int64)  # 64-bit offsets: B·C·N may exceed 2³¹
    offs_n = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_k = tl.arange(0, BLOCK_K)
    mask_n, mask_k = offs_n < N, offs_k < K
    x_base = x_ptr + b * stride_xb
    dist, _ = _distances(
        x_base, d_ptr, dsq_ptr, d_ptr, offs_k, mask_k, offs_n, mask_n, C, stride_xc, stride_xn,
        BLOCK_K, BLOCK_N, BLOCK_C, False,
    )
    a = _assignments(dist, tl.load(s_ptr + offs_k, mask=mask_k, other=0.0), mask_k, mask_n)
    tl.atomic_add(mass_ptr + b * K + offs_k, tl.sum(a, axis=1), mask=mask_k)
    for c0 in range(0, C, BLOCK_C):
        offs_c = c0 + tl.arange(0, BLOCK_C)
        mask_c = offs_c < C
        x = tl.load(
            x_base + offs_c[:, None] * stride_xc + offs_n[None, :] * stride_xn,
            mask=mask_c[:, None] & mask_n[None, :], other=0.0,
        ).to(a.dtype)
        partial = tl.dot(a, tl.trans(x), input_precision="ieee")  # Σ_n a_kn x_cn, K×BLOCK_C
        tl.atomic_add(
            sums_ptr + b * K * C + offs_k[:, None] * C + offs_c[None, :], partial,
            mask=mask_k[:, None] & mask_c[None, :],
        )


@triton.jit
def _encoding_backward_kernel(
    x_ptr, d_ptr, s_ptr, dsq_ptr, g_ptr, gd_ptr, dx_ptr, wx_ptr, wsum_ptr, ds_ptr,
    C, N, K, stride_xb, stride_xc, stride_xn, stride_db, stride_dc, stride_dn,
    BLOCK_N: tl.constexpr, BLOCK_C: tl.constexpr, BLOCK_K: tl.constexpr,
):
    b = tl.program_id(1).to(tl.int64)  # 64-bit offsets: B·C·N may exceed 2³¹
    offs_n = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_k = tl.arange(0, BLOCK_K)
    mask_n, mask_k = offs_n < N, offs_k < K
    x_base = x_ptr + b * stride_xb
    g_base = g_ptr + b * K * C
    dist, gx = _distances(
        x_base, d_ptr, dsq_ptr, g_base, offs_k, mask_k, offs_n, mask_n, C, stride_xc, stride_xn,
        BLOCK_K, BLOCK_N, BLOCK_C, True,
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
        ).to(a.dtype)
        kc = offs_k[:, None] * C + offs_c[None, :]
        mask_kc = mask_k[:, None] & mask_c[None, :]
        g = tl.load(g_base + kc, mask=mask_kc, other=0.0)
        d = tl.load(d_ptr + kc, mask=mask_kc, other=0.0)
        dx = tl.dot(tl.trans(g), a, input_precision="ieee")
        dx -= 2.0 * tl.dot(tl.trans(d), w, input_precision="ieee")
        dx += 2.0 * x * w_n[None, :]
        tl.store(
            dx_ptr + b * stride_db + offs_c[:, None] * stride_dc + offs_n[None, :] * stride_dn,
            dx.to(dx_ptr.dtype.element_ty), mask=mask_cn,
        )
        tl.atomic_add(wx_ptr + b * K * C + kc, tl.dot(w, tl.trans(x), input_precision="ieee"), mask=mask_kc)


def _interpreted(fn) -> bool:
    return not isinstance(fn, triton.runtime.JITFunction)


INTERPRETED = _interpreted(_encoding_forward_kernel)
"""True when the kernels were built by the Triton interpreter (TRITON_INTERPRET=1 at import)."""
# Triton's own tl.sum, tl.max … are built when Triton is imported: the interpreter needs them interpreted too.
_INTERPRETER_TOO_LATE = INTERPRETED and not _interpreted(tl.sum)


def _blocks(num_codes: int) -> dict[str, int]:
    """Tile sizes: all K codewords in one tile (≥ 16 for tl.dot); fewer positions per tile when K is large."""
    block_k = max(16, triton.next_power_of_2(num_codes))
    return {"BLOCK_K": block_k, "BLOCK_C": 32, "BLOCK_N": 64 if block_k <= 64 else 32}


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
        d = codewords.detach().to(compute).contiguous()
        s = scale.detach().to(compute).contiguous()
        d_sq = d.square().sum(1)
        sums = torch.zeros(batch, k, channels, dtype=compute, device=x.device)  # Σ_n a_kn x_n
        mass = torch.zeros(batch, k, dtype=compute, device=x.device)  # Σ_n a_kn
        blocks = _blocks(k)
        if n > 0:
            grid = (triton.cdiv(n, blocks["BLOCK_N"]), batch)
            _encoding_forward_kernel[grid](x, d, s, d_sq, sums, mass, channels, n, k, *x.stride(), **blocks)
        ctx.save_for_backward(x, d, s, d_sq, mass)
        ctx.param_dtypes = (codewords.dtype, scale.dtype)
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
        blocks = _blocks(k)
        if n > 0:
            grid = (triton.cdiv(n, blocks["BLOCK_N"]), batch)
            _encoding_backward_kernel[grid](
                x, d, s, d_sq, g, g_dot_d, dx, wx, w_sum, ds, channels, n, k, *x.stride(), *dx.stride(), **blocks
            )
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
    with torch.autocast(device_type=x.device.type, enabled=False):
        return EncodingFunction.apply(x, codewords, scale)
