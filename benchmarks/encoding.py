"""Encoding layer benchmark: forward and forward+backward time, peak extra memory and the roofline (bytes
moved, FLOPs, the bound they set on the GPU and the achieved fraction of it) of the broadcast reference, the
matmul form and the fused Triton kernels, per dot-product precision.

    python benchmarks/encoding.py          # GPU: B=8, C=512, H=W=64, K=32, fp32 at matmul precision highest,
                                           #   high, medium and bf16, all three impls
                                           # no GPU: B=2, fp32, reference and matmul on CPU
    python benchmarks/encoding.py --device cpu --gpu h200      # the roofline model alone, for a named GPU
    python benchmarks/encoding.py --dtypes bf16 --impls matmul triton --bandwidth 3350 --peak 989
    TRITON_INTERPRET=1 python benchmarks/encoding.py --device cpu --impls matmul triton \\
        --batch 1 --channels 16 --size 8 --codes 4        # Triton interpreter: a run check, not a speed figure

Each (implementation, dtype) runs in a fresh subprocess. Inputs: x B×C×N in the dtype, codewords and scale
in fp32, all requiring gradients (as in training); the backward gets a fixed random B×K×C gradient.

* Time: median of ``--repeat`` runs after ``--warmup`` runs, with CUDA events on a GPU (``perf_counter``
  on CPU), of the forward alone and of forward+backward.
* Extra memory: what one forward+backward adds on top of the inputs: on CUDA ``max_memory_allocated`` minus
  the memory allocated before the call, on CPU the peak resident set size (VmHWM, reset before the call)
  minus the resident set size before it. Reported also as a multiple of x's size.
* Modes: fp32 inputs at each ``--precision`` (``torch.set_float32_matmul_precision``: highest → fp32 dot
  products, high → TF32, medium → bf16 operands), bf16 and fp16 inputs (dot operands in that dtype); see
  :mod:`encnet.nn.precision`.
* Bytes moved: the least traffic the implementation needs: the forward reads x and writes E (B×K×C); the
  backward reads x and the gradient of E and writes dx; plus the small parameters and their gradients. The
  reference also writes and reads its B×N×K×C fp32 residuals (3 passes forward, 8 forward+backward).
* FLOPs: per B·N·K·C, the matmul form's two products cost 4 forward and 8 backward; the Triton kernels
  recompute the distances in the backward (4 + 10); the reference's 5 + 10 are elementwise (CUDA cores).
* Bound: max(bytes / peak bandwidth, FLOPs / peak throughput of the mode's precision) from
  ``gpu_specs.SPECS`` (by device name, ``--gpu``, or ``--bandwidth`` / ``--peak``); ``of bound`` is bound /
  time: 100 % is the roofline.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import torch
from gpu_specs import SPECS, GPUSpec, lookup
from measure import median_seconds, peak_memory, reset_peak_memory

from encnet.nn import encoding
from encnet.nn.precision import dot_precision

IMPLS = ("reference", "matmul", "triton")
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
PRECISIONS = ("highest", "high", "medium")
# FLOPs per B·N·K·C: (forward, forward+backward), and which throughput they run at.
FLOPS = {"reference": (5, 15), "matmul": (4, 12), "triton": (4, 14)}
REFERENCE_PASSES = (3, 8)  # B×N×K×C fp32 residual passes of the reference: forward, forward+backward
# Dot-product policy → the peak it runs at (gpu_specs precision names).
PEAK_OF_POLICY = {"ieee": "fp32", "tf32": "tf32", "bf16": "bf16", "fp16": "fp16"}


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
    impl, dtype, precision = args.child.split(":")
    torch.set_float32_matmul_precision(precision)
    inputs, grad = _inputs(args, DTYPES[dtype])
    # A tiny call first, so that lazily loaded kernels and thread pools do not count as the op's memory.
    small = [inputs[0].detach()[..., :8].clone().requires_grad_(), *inputs[1:]]
    _forward_backward(impl, small, grad)
    before = reset_peak_memory(args.device)
    _forward_backward(impl, inputs, grad)
    extra = peak_memory(args.device) - before
    picked = {}
    if impl == "triton" and args.device.startswith("cuda"):
        from encnet.nn.triton_kernels import picked_configs

        picked = picked_configs()  # what autotune chose for this size, and the loaded kernels' registers
    return {
        "picked": picked,
        "impl": impl,
        "dtype": dtype,
        "precision": precision,
        "policy": dot_precision(DTYPES[dtype], args.device),
        "forward_s": median_seconds(lambda: _forward(impl, inputs, grad), args.device, args.repeat, args.warmup),
        "forward_backward_s": median_seconds(lambda: _forward_backward(impl, inputs, grad), args.device,
                                             args.repeat, args.warmup),
        "extra_bytes": extra,
        "input_bytes": inputs[0].numel() * inputs[0].element_size(),
    }


def bytes_moved(args: argparse.Namespace, impl: str, dtype: str) -> tuple[int, int]:
    """Least bytes a forward and a forward+backward of ``impl`` must move (see the module docstring)."""
    item = DTYPES[dtype].itemsize
    x = args.batch * args.channels * args.size**2 * item
    out = args.batch * args.codes * args.channels * item
    params = (args.codes * args.channels + args.codes) * 4
    forward, both = x + out + params, x + out + params + (x + out + x) + 2 * params
    if impl == "reference":
        residual = args.batch * args.size**2 * args.codes * args.channels * 4
        forward, both = forward + REFERENCE_PASSES[0] * residual, both + REFERENCE_PASSES[1] * residual
    return forward, both


def flops(args: argparse.Namespace, impl: str) -> tuple[int, int]:
    """FLOPs of a forward and a forward+backward of ``impl`` (see the module docstring)."""
    bnkc = args.batch * args.size**2 * args.codes * args.channels
    return tuple(per * bnkc for per in FLOPS[impl])


def gpu_spec(args: argparse.Namespace) -> GPUSpec | None:
    """The GPU's peak figures: ``--gpu``, else looked up by the CUDA device's name, else None."""
    if args.gpu:
        return SPECS[args.gpu]
    if args.device.startswith("cuda"):
        return lookup(torch.cuda.get_device_name(args.device))
    return None


def roofline(args: argparse.Namespace, impl: str, dtype: str, policy: str) -> dict | None:
    """Bytes, FLOPs and the bound (seconds) of a forward and a forward+backward on the GPU of ``gpu_spec``
    (``--bandwidth`` and ``--peak`` override its figures), or None without figures."""
    spec = gpu_spec(args)
    bandwidth = args.bandwidth or (spec.bandwidth_gbs if spec else 0)
    precision = "fp32" if impl == "reference" else PEAK_OF_POLICY[policy]
    peak = args.peak or (spec.tflops[precision] if spec else 0)
    if not (bandwidth and peak):
        return None
    out = {"peak_precision": precision, "bandwidth_gbs": bandwidth, "peak_tflops": peak}
    for name, b, f in zip(("forward", "forward_backward"), bytes_moved(args, impl, dtype), flops(args, impl)):
        memory_s, compute_s = b / (bandwidth * 1e9), f / (peak * 1e12)
        out[f"{name}_bytes"], out[f"{name}_flops"] = b, f
        out[f"{name}_bound_s"] = max(memory_s, compute_s)
        out[f"{name}_bound_by"] = "memory" if memory_s >= compute_s else "compute"
    return out


def modes(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(dtype, fp32 matmul precision) pairs to run: fp32 at each --precision, the other dtypes once."""
    return [(dtype, precision) for dtype in args.dtypes
            for precision in (args.precision if dtype == "fp32" else ["highest"])]


def _set_defaults(args: argparse.Namespace) -> None:
    """The target sizes on a GPU or for ``--gpu`` (B=8, fp32 at every precision and bf16, all impls); on CPU
    B=2, fp32, reference and matmul."""
    gpu = args.device.startswith("cuda") or bool(args.gpu)  # --gpu on CPU: the model at the GPU's sizes
    args.precision = args.precision or (list(PRECISIONS) if gpu else ["highest"])
    args.batch = args.batch or (8 if gpu else 2)
    args.dtypes = args.dtypes or (["fp32", "bf16"] if gpu else ["fp32"])
    args.impls = args.impls or (list(IMPLS) if gpu else ["reference", "matmul"])
    args.repeat = args.repeat or (20 if gpu else 5)
    args.warmup = args.warmup if args.warmup is not None else (3 if gpu else 1)


def report(args: argparse.Namespace, results: list[dict]) -> None:
    spec = gpu_spec(args)
    if args.device.startswith("cuda"):
        device = torch.cuda.get_device_name(args.device)
    else:
        device = f"CPU, {args.threads or torch.get_num_threads()} threads"
    figures = f"roofline of {spec.name}" if spec else "roofline: pass --gpu, or --bandwidth and --peak"
    print(f"Encoding layer, B={args.batch} C={args.channels} H=W={args.size} K={args.codes} on {device} "
          f"(torch {torch.__version__}; {figures})")
    if args.device == "cpu" and "triton" in args.impls:
        print("triton on CPU runs in the Triton interpreter (numpy): its times are not speed figures")
    print(f"{'impl':<10} {'mode':<12} {'dots':<5} {'fwd ms':>9} {'fwd+bwd ms':>11} {'extra MiB':>10} "
          f"{'extra/x':>8} {'bound ms':>9} {'of bound':>9}")
    for r in results:
        line = r.get("roofline")
        bound, share = "", ""
        if line:
            bound = f"{1e3 * line['forward_backward_bound_s']:.3f}"
            share = f"{100 * line['forward_backward_bound_s'] / r['forward_backward_s']:.0f}%"
        print(f"{r['impl']:<10} {_mode(r):<12} {r['policy']:<5} {1e3 * r['forward_s']:>9.3f} "
              f"{1e3 * r['forward_backward_s']:>11.3f} {r['extra_bytes'] / 2**20:>10.1f} "
              f"{r['extra_bytes'] / r['input_bytes']:>8.2f} {bound:>9} {share:>9}")
    for r in results:
        for kernel, p in r.get("picked", {}).items():
            print(f"{_mode(r)} triton {kernel}: autotune picked {p['config']} (n_regs {p['n_regs']}, "
                  f"n_spills {p['n_spills']}, shared {p['shared']} B)")
    for mode in {_mode(r) for r in results}:
        by_impl = {r["impl"]: r for r in results if _mode(r) == mode}
        if args.device == "cpu":
            by_impl.pop("triton", None)  # interpreter times and memory say nothing about the kernels
        for fast, slow in (("matmul", "reference"), ("triton", "reference"), ("triton", "matmul")):
            if {fast, slow} <= by_impl.keys():
                f, s = by_impl[fast], by_impl[slow]
                speedup = s["forward_backward_s"] / f["forward_backward_s"]
                print(f"{mode} {fast} vs {slow}: forward+backward {speedup:.1f}x faster, "
                      f"{s['extra_bytes'] / max(f['extra_bytes'], 1):.1f}x less extra memory")


def _mode(r: dict) -> str:
    return f"fp32-{r['precision']}" if r["dtype"] == "fp32" else r["dtype"]


def report_model(args: argparse.Namespace) -> None:
    """The roofline model alone (no measurement): bytes, FLOPs and bounds of each impl and mode on ``--gpu``."""
    spec = gpu_spec(args)
    print(f"Encoding layer roofline model, B={args.batch} C={args.channels} H=W={args.size} K={args.codes} on "
          f"{spec.name if spec else 'the given figures'} ({args.bandwidth or spec.bandwidth_gbs:.0f} GB/s)")
    print(f"{'impl':<10} {'mode':<12} {'dots':<5} {'peak':<5} {'fwd MB':>8} {'fwd GFLOP':>10} {'fwd µs':>8} "
          f"{'by':<8} {'fwd+bwd MB':>10} {'fwd+bwd GFLOP':>14} {'fwd+bwd µs':>11} {'by':<8}")
    for dtype, precision in modes(args):
        torch.set_float32_matmul_precision(precision)
        policy = dot_precision(DTYPES[dtype], "cuda" if torch.cuda.is_available() else "cpu")
        for impl in args.impls:
            r = roofline(args, impl, dtype, policy)
            mode = f"fp32-{precision}" if dtype == "fp32" else dtype
            print(f"{impl:<10} {mode:<12} {policy:<5} {r['peak_precision']:<5} {r['forward_bytes'] / 1e6:>8.1f} "
                  f"{r['forward_flops'] / 1e9:>10.2f} {1e6 * r['forward_bound_s']:>8.1f} {r['forward_bound_by']:<8} "
                  f"{r['forward_backward_bytes'] / 1e6:>10.1f} {r['forward_backward_flops'] / 1e9:>14.2f} "
                  f"{1e6 * r['forward_backward_bound_s']:>11.1f} {r['forward_backward_bound_by']:<8}")
    torch.set_float32_matmul_precision("highest")


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
    p.add_argument("--precision", nargs="+", choices=PRECISIONS,
                   help="fp32 matmul precision(s) of the fp32 rows (default: all three on a GPU, highest on CPU)")
    p.add_argument("--gpu", choices=sorted(SPECS), help="roofline figures of this GPU (default: by device name); "
                   "on CPU, print the roofline model alone")
    p.add_argument("--bandwidth", type=float, default=0.0, help="peak memory bandwidth in GB/s (default: by GPU)")
    p.add_argument("--peak", type=float, default=0.0, help="peak TFLOP/s of every mode (default: by GPU)")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--json", action="store_true", help="print results as JSON lines")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    _set_defaults(args)
    if args.child:
        print(json.dumps(child(args)))
        return
    if args.gpu and not args.device.startswith("cuda"):
        report_model(args)
        return
    if args.device == "cpu" and "triton" in args.impls and os.environ.get("TRITON_INTERPRET") != "1":
        p.error("--impls triton on CPU needs TRITON_INTERPRET=1 in the environment (the Triton interpreter)")

    results = []
    for dtype, precision in modes(args):
        for impl in args.impls:
            cmd = [sys.executable, __file__, *sys.argv[1:], "--child", f"{impl}:{dtype}:{precision}"]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            row = json.loads(out.strip().splitlines()[-1])
            row["roofline"] = roofline(args, impl, dtype, row["policy"])
            results.append(row)
    if args.json:
        for r in results:
            print(json.dumps(r))
        return
    report(args, results)


if __name__ == "__main__":
    main()
