"""Encoding layer benchmark: forward and forward+backward time, peak extra memory and memory-bandwidth use of
the broadcast reference, the matmul form and the fused Triton kernels.

    python benchmarks/encoding.py          # GPU: B=8, C=512, H=W=64, K=32, fp32 and bf16, all three impls
                                           # no GPU: B=2, fp32, reference and matmul on CPU
    python benchmarks/encoding.py --dtypes bf16 --impls matmul triton --bandwidth 3350
    TRITON_INTERPRET=1 python benchmarks/encoding.py --device cpu --impls matmul triton \\
        --batch 1 --channels 16 --size 8 --codes 4        # Triton interpreter: a run check, not a speed figure

Each (implementation, dtype) runs in a fresh subprocess. Inputs: x B×C×N in the dtype, codewords and scale
in fp32, all requiring gradients (as in training); the backward gets a fixed random B×K×C gradient.

* Time: median of ``--repeat`` runs after ``--warmup`` runs, with CUDA events on a GPU (``perf_counter``
  on CPU), of the forward alone and of forward+backward.
* Extra memory: what one forward+backward adds on top of the inputs: on CUDA ``max_memory_allocated`` minus
  the memory allocated before the call, on CPU the peak resident set size (VmHWM, reset before the call)
  minus the resident set size before it. Reported also as a multiple of x's size.
* Bytes moved: the least traffic any implementation needs, the same for all: the forward reads x and
  writes E (B×K×C); the backward reads x and the gradient of E and writes dx; plus the small parameters
  and their gradients. ``BW`` is bytes moved / time as a fraction of the GPU's peak memory bandwidth
  (from ``PEAK_BANDWIDTH_GBS`` by device name, or ``--bandwidth``): 100 % is the memory-bandwidth bound.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import torch
from measure import median_seconds, peak_memory, reset_peak_memory

from encnet.nn import encoding

IMPLS = ("reference", "matmul", "triton")
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
# Peak DRAM bandwidth in GB/s by a substring of torch.cuda.get_device_name(), first match wins
# (vendor data sheets; SXM parts unless named otherwise).
PEAK_BANDWIDTH_GBS = (
    ("H200", 4800),
    ("H100 NVL", 3900),
    ("H100 PCIe", 2000),
    ("H100", 3350),
    ("A100-SXM4-80GB", 2039),
    ("A100 80GB PCIe", 1935),
    ("A100", 1555),
    ("L40S", 864),
    ("L4", 300),
    ("A10", 600),
    ("RTX 4090", 1008),
    ("V100", 900),
    ("T4", 320),
)


def _inputs(args: argparse.Namespace, dtype: torch.dtype):
    g = torch.Generator().manual_seed(0)
    n = args.size * args.size
    x = torch.randn(args.batch, args.channels, n, generator=g).to(args.device, dtype)
    codewords = (torch.rand(args.codes, args.channels, generator=g) - 0.5).to(args.device)
    scale = torch.rand(args.codes, generator=g).to(args.device)
    grad = torch.randn(args.batch, args.codes, args.channels, generator=g).to(args.device, dtype)
    return [t.requires_grad_() for t in (x, codewords, scale)], grad


def _forward(impl, inputs, grad) -> None:
    encoding(*inputs, impl=impl)


def _forward_backward(impl, inputs, grad) -> None:
    encoding(*inputs, impl=impl).backward(grad)
    for t in inputs:
        t.grad = None


def child(args: argparse.Namespace) -> dict:
    """Measure one implementation in one dtype in this process (memory first, on a clean peak)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    impl, dtype = args.child.split(":")
    inputs, grad = _inputs(args, DTYPES[dtype])
    # A tiny call first, so that lazily loaded kernels and thread pools do not count as the op's memory.
    small = [inputs[0].detach()[..., :8].clone().requires_grad_(), *inputs[1:]]
    _forward_backward(impl, small, grad)
    before = reset_peak_memory(args.device)
    _forward_backward(impl, inputs, grad)
    extra = peak_memory(args.device) - before
    return {
        "impl": impl,
        "dtype": dtype,
        "forward_s": median_seconds(lambda: _forward(impl, inputs, grad), args.device, args.repeat, args.warmup),
        "forward_backward_s": median_seconds(lambda: _forward_backward(impl, inputs, grad), args.device,
                                             args.repeat, args.warmup),
        "extra_bytes": extra,
        "input_bytes": inputs[0].numel() * inputs[0].element_size(),
    }


def bytes_moved(args: argparse.Namespace, dtype: str) -> tuple[int, int]:
    """Least bytes a forward and a forward+backward must move (see the module docstring)."""
    item = DTYPES[dtype].itemsize
    x = args.batch * args.channels * args.size**2 * item
    out = args.batch * args.codes * args.channels * item
    params = (args.codes * args.channels + args.codes) * 4
    forward = x + out + params
    return forward, forward + (x + out + x) + 2 * params


def peak_bandwidth(args: argparse.Namespace) -> float | None:
    """Peak memory bandwidth in bytes/s: ``--bandwidth``, else looked up by GPU name, else None."""
    if args.bandwidth:
        return args.bandwidth * 1e9
    if args.device.startswith("cuda"):
        name = torch.cuda.get_device_name(args.device)
        return next((gbs * 1e9 for key, gbs in PEAK_BANDWIDTH_GBS if key in name), None)
    return None


def _set_defaults(args: argparse.Namespace) -> None:
    """The target sizes on a GPU (B=8, fp32 and bf16, all impls); on CPU B=2, fp32, reference and matmul."""
    gpu = args.device.startswith("cuda")
    args.batch = args.batch or (8 if gpu else 2)
    args.dtypes = args.dtypes or (["fp32", "bf16"] if gpu else ["fp32"])
    args.impls = args.impls or (list(IMPLS) if gpu else ["reference", "matmul"])
    args.repeat = args.repeat or (20 if gpu else 5)
    args.warmup = args.warmup if args.warmup is not None else (3 if gpu else 1)


def report(args: argparse.Namespace, results: list[dict]) -> None:
    bandwidth = peak_bandwidth(args)
    if args.device.startswith("cuda"):
        device = torch.cuda.get_device_name(args.device)
    else:
        device = f"CPU, {args.threads or torch.get_num_threads()} threads"
    print(f"Encoding layer, B={args.batch} C={args.channels} H=W={args.size} K={args.codes} on {device} "
          f"(torch {torch.__version__}{'' if bandwidth else ', peak bandwidth unknown: pass --bandwidth'})")
    if args.device == "cpu" and "triton" in args.impls:
        print("triton on CPU runs in the Triton interpreter (numpy): its times are not speed figures")
    print(f"{'impl':<10} {'dtype':<5} {'fwd ms':>9} {'fwd+bwd ms':>11} {'extra MiB':>10} {'extra/x':>8} "
          f"{'MB moved':>9} {'fwd BW':>7} {'fwd+bwd BW':>11}")
    for r in results:
        fwd_bytes, fb_bytes = bytes_moved(args, r["dtype"])
        bw = ["" if not bandwidth else f"{100 * b / t / bandwidth:.0f}%"
              for b, t in ((fwd_bytes, r["forward_s"]), (fb_bytes, r["forward_backward_s"]))]
        print(f"{r['impl']:<10} {r['dtype']:<5} {1e3 * r['forward_s']:>9.3f} {1e3 * r['forward_backward_s']:>11.3f} "
              f"{r['extra_bytes'] / 2**20:>10.1f} {r['extra_bytes'] / r['input_bytes']:>8.2f} "
              f"{fb_bytes / 1e6:>9.1f} {bw[0]:>7} {bw[1]:>11}")
    for dtype in args.dtypes:
        by_impl = {r["impl"]: r for r in results if r["dtype"] == dtype}
        if args.device == "cpu":
            by_impl.pop("triton", None)  # interpreter times and memory say nothing about the kernels
        for fast, slow in (("matmul", "reference"), ("triton", "reference"), ("triton", "matmul")):
            if {fast, slow} <= by_impl.keys():
                f, s = by_impl[fast], by_impl[slow]
                speedup = s["forward_backward_s"] / f["forward_backward_s"]
                print(f"{dtype} {fast} vs {slow}: forward+backward {speedup:.1f}x faster, "
                      f"{s['extra_bytes'] / max(f['extra_bytes'], 1):.1f}x less extra memory")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=None, help="B (default: 8 on a GPU, 2 on CPU)")
    p.add_argument("--channels", type=int, default=512)
    p.add_argument("--size", type=int, default=64, help="H = W")
    p.add_argument("--codes", type=int, default=32)
    p.add_argument("--dtypes", nargs="+", choices=sorted(DTYPES), help="default: fp32 bf16 on a GPU, fp32 on CPU")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--impls", nargs="+", choices=IMPLS, help="default: all on a GPU, reference matmul on CPU")
    p.add_argument("--repeat", type=int, default=None, help="timed runs (default: 20 on a GPU, 5 on CPU)")
    p.add_argument("--warmup", type=int, default=None, help="untimed runs first (default: 3 on a GPU, 1 on CPU)")
    p.add_argument("--bandwidth", type=float, default=0.0, help="peak memory bandwidth in GB/s (default: by GPU)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--json", action="store_true", help="print results as JSON lines")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    _set_defaults(args)
    if args.child:
        print(json.dumps(child(args)))
        return
    if args.device == "cpu" and "triton" in args.impls and os.environ.get("TRITON_INTERPRET") != "1":
        p.error("--impls triton on CPU needs TRITON_INTERPRET=1 in the environment (the Triton interpreter)")

    results = []
    for dtype in args.dtypes:
        for impl in args.impls:
            cmd = [sys.executable, __file__, *sys.argv[1:], "--child", f"{impl}:{dtype}"]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            results.append(json.loads(out.strip().splitlines()[-1]))
    if args.json:
        for r in results:
            print(json.dumps(r))
        return
    report(args, results)


if __name__ == "__main__":
    main()
