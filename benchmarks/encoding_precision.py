"""Error of each dot-product policy of the Encoding layer against the fp64 oracle, for the matmul form and the
Triton kernels: the output E and the gradients of x, the codewords and the scales.

    python benchmarks/encoding_precision.py                          # GPU: B=4 C=512 N=4096 K=32
    TRITON_INTERPRET=1 python benchmarks/encoding_precision.py --device cpu --batch 2 --channels 24 --n 70 --codes 5

A policy (:mod:`encnet.nn.precision`) is set through the input dtype (bf16, fp16) or, for fp32 inputs,
``torch.set_float32_matmul_precision`` (highest → ieee, high → tf32, medium → bf16). The oracle is the
matmul form in fp64 on the same rounded inputs (x in its dtype, codewords and scales in fp32, upstream
gradient in x's dtype). The error of a tensor is max |result − oracle| / max |oracle| (absolute where the oracle is 0).
"""

from __future__ import annotations

import argparse
import json
import os

import torch

from encnet.nn import encoding
from encnet.nn.precision import dot_precision

# name → (input dtype, float32 matmul precision)
MODES = {
    "fp32-highest": (torch.float32, "highest"),
    "fp32-high": (torch.float32, "high"),
    "fp32-medium": (torch.float32, "medium"),
    "bf16": (torch.bfloat16, "highest"),
    "fp16": (torch.float16, "highest"),
}
TENSORS = ("out", "dx", "dcodewords", "dscale")


def inputs(b: int, c: int, n: int, k: int, dtype: torch.dtype, device: str, seed: int = 0):
    """x B×C×N in ``dtype`` (unit normal), codewords K×C (N(0, 0.25)) and scales K (U(0, 1)) in fp32, and an
    upstream gradient B×K×C in ``dtype``."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, c, n, generator=g).to(device, dtype)
    codewords = (torch.randn(k, c, generator=g) * 0.5).to(device)
    scale = torch.rand(k, generator=g).to(device)
    grad = torch.randn(b, k, c, generator=g).to(device, dtype)
    return x, codewords, scale, grad


def forward_backward(impl: str, x, codewords, scale, grad) -> list[torch.Tensor]:
    leaves = [t.detach().clone().requires_grad_() for t in (x, codewords, scale)]
    out = encoding(*leaves, impl=impl)
    out.backward(grad.to(out.dtype))
    return [out.detach(), *(t.grad for t in leaves)]


def relative_error(result: torch.Tensor, oracle: torch.Tensor) -> float:
    """max |result − oracle| / max |oracle| (the absolute error where the oracle is all zero: dscale at K = 1)."""
    err = (result.double() - oracle).abs().max().item()
    top = oracle.abs().max().item()
    return err / top if top > 0 else err


def errors(impl: str, mode: str, b: int, c: int, n: int, k: int, device: str) -> dict[str, float]:
    """Relative max error of ``impl`` in ``mode`` for each of TENSORS."""
    dtype, matmul_precision = MODES[mode]
    tensors = inputs(b, c, n, k, dtype, device)
    oracle = forward_backward("matmul", *(t.double() for t in tensors))
    previous = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision(matmul_precision)
    try:
        policy = dot_precision(dtype, device)
        got = forward_backward(impl, *tensors)
    finally:
        torch.set_float32_matmul_precision(previous)
    rel = {name: relative_error(a, e) for name, a, e in zip(TENSORS, got, oracle)}
    return {"impl": impl, "mode": mode, "policy": policy, **rel}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--channels", type=int, default=512)
    p.add_argument("--n", type=int, default=4096, help="positions N = H·W")
    p.add_argument("--codes", type=int, default=32)
    p.add_argument("--impls", nargs="+", choices=("matmul", "triton"), default=["matmul", "triton"])
    p.add_argument("--modes", nargs="+", choices=sorted(MODES), default=list(MODES))
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    args = p.parse_args()
    if args.device == "cpu" and "triton" in args.impls and os.environ.get("TRITON_INTERPRET") != "1":
        p.error("--impls triton on CPU needs TRITON_INTERPRET=1 in the environment (the Triton interpreter)")
    rows = [errors(impl, mode, args.batch, args.channels, args.n, args.codes, args.device)
            for mode in args.modes for impl in args.impls]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    where = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "CPU"
    interpreted = " (Triton interpreter)" if args.device == "cpu" and "triton" in args.impls else ""
    print(f"Encoding error vs fp64, B={args.batch} C={args.channels} N={args.n} K={args.codes} on {where}"
          f"{interpreted}, torch {torch.__version__}")
    print(f"{'mode':<13} {'policy':<6} {'impl':<7} " + " ".join(f"{name:>10}" for name in TENSORS))
    for r in rows:
        print(f"{r['mode']:<13} {r['policy']:<6} {r['impl']:<7} " + " ".join(f"{r[name]:>10.2e}" for name in TENSORS))


if __name__ == "__main__":
    main()
