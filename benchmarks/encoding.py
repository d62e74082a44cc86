"""Encoding layer benchmark: forward+backward time and peak extra memory, matmul form vs broadcast reference.

    python benchmarks/encoding.py                      # B=2, C=512, H=W=64, K=32 on CPU (issue target)
    python benchmarks/encoding.py --device cuda --batch 8 --dtype bf16

Each implementation runs in a fresh subprocess. Extra memory is what one forward+backward adds on top of
the inputs: on CPU the process's peak resident set size (VmHWM, reset before the call) minus its resident
set size before the call, on CUDA
``max_memory_allocated`` minus the memory allocated before the call. Time is the median of ``--repeat``
runs after ``--warmup`` runs.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

from encnet.nn import encoding_matmul, encoding_reference

IMPLS = {"matmul": encoding_matmul, "reference": encoding_reference}
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def _inputs(args: argparse.Namespace):
    g = torch.Generator().manual_seed(0)
    n = args.size * args.size
    x = torch.randn(args.batch, args.channels, n, generator=g).to(args.device, DTYPES[args.dtype])
    codewords = (torch.rand(args.codes, args.channels, generator=g) - 0.5).to(args.device)
    scale = torch.rand(args.codes, generator=g).to(args.device)
    return [t.requires_grad_() for t in (x, codewords, scale)]


def _step(fn, x, codewords, scale) -> None:
    out = fn(x, codewords, scale)
    out.float().sum().backward()
    for t in (x, codewords, scale):
        t.grad = None


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def _reset_peak_rss() -> int:
    """Reset the peak RSS (Linux ≥ 4.0: write 5 to clear_refs) and return the current RSS in bytes."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_kib("VmRSS") * 1024
    except OSError:  # no /proc: fall back to the lifetime peak
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _peak_rss() -> int:
    try:
        return _status_kib("VmHWM") * 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def child(args: argparse.Namespace) -> dict:
    """Measure one implementation in this process (memory first, on a clean peak)."""
    if args.threads:
        torch.set_num_threads(args.threads)
    fn = IMPLS[args.child]
    inputs = _inputs(args)
    # A tiny call first, so that lazily loaded kernels and thread pools do not count as the op's memory.
    _step(fn, inputs[0].detach()[..., :8].clone().requires_grad_(), *inputs[1:])
    input_bytes = inputs[0].numel() * inputs[0].element_size()
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        _step(fn, *inputs)
        torch.cuda.synchronize()
        extra = torch.cuda.max_memory_allocated() - before
    else:
        before = _reset_peak_rss()
        _step(fn, *inputs)
        extra = _peak_rss() - before
    for _ in range(args.warmup):
        _step(fn, *inputs)
    times = []
    for _ in range(args.repeat):
        _sync(args.device)
        start = time.perf_counter()
        _step(fn, *inputs)
        _sync(args.device)
        times.append(time.perf_counter() - start)
    return {"impl": args.child, "time_s": statistics.median(times), "extra_bytes": extra, "input_bytes": input_bytes}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--channels", type=int, default=512)
    p.add_argument("--size", type=int, default=64, help="H = W")
    p.add_argument("--codes", type=int, default=32)
    p.add_argument("--dtype", choices=sorted(DTYPES), default="fp32")
    p.add_argument("--device", default="cpu")
    p.add_argument("--impls", nargs="+", choices=sorted(IMPLS), default=["reference", "matmul"])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--json", action="store_true", help="print results as JSON lines")
    p.add_argument("--child", choices=sorted(IMPLS), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return

    results = {}
    for impl in args.impls:
        cmd = [sys.executable, __file__, *sys.argv[1:], "--child", impl]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        results[impl] = json.loads(out.strip().splitlines()[-1])
    if args.json:
        for r in results.values():
            print(json.dumps(r))
        return
    shape = f"B={args.batch} C={args.channels} H=W={args.size} K={args.codes} {args.dtype} on {args.device}"
    print(f"Encoding forward+backward, {shape} (torch {torch.__version__}, {torch.get_num_threads()} threads)")
    print(f"{'impl':<10} {'time (ms)':>10} {'extra memory (MiB)':>19}")
    for r in results.values():
        print(f"{r['impl']:<10} {1e3 * r['time_s']:>10.1f} {r['extra_bytes'] / 2**20:>19.1f}")
    if {"matmul", "reference"} <= results.keys():
        ref, mm = results["reference"], results["matmul"]
        print(f"matmul vs reference: {ref['time_s'] / mm['time_s']:.1f}x faster, "
              f"{ref['extra_bytes'] / max(mm['extra_bytes'], 1):.1f}x less extra memory "
              f"(input X is {ref['input_bytes'] / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
