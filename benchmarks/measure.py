"""Timing and peak memory for the benchmark scripts (imported by them as ``measure``; run them as
``python benchmarks/<script>.py``, which puts this folder on the import path).

* Time: the median of ``repeat`` calls after ``warmup`` untimed ones, with CUDA events on a GPU and
  ``time.perf_counter`` on CPU.
* Memory: on CUDA the bytes allocated by tensors (``torch.cuda.memory_allocated`` and its peak), on CPU the
  process's resident set size (VmRSS and its peak VmHWM, which ``reset_peak_memory`` resets through
  ``/proc/self/clear_refs``; without ``/proc`` the lifetime peak). The CPU figure therefore includes the
  libraries and allocator caches of the process, not only tensors.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable

import torch


def is_cuda(device: str) -> bool:
    return str(device).startswith("cuda")


def synchronize(device: str) -> None:
    if is_cuda(device):
        torch.cuda.synchronize(device)


def median_seconds(step: Callable[[], object], device: str, repeat: int, warmup: int) -> float:
    """Median seconds of ``step()`` over ``repeat`` calls after ``warmup`` untimed calls."""
    for _ in range(warmup):
        step()
    synchronize(device)
    times = []
    for _ in range(repeat):
        if is_cuda(device):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            step()
            end.record()
            torch.cuda.synchronize(device)
            times.append(start.elapsed_time(end) / 1e3)
        else:
            start_s = time.perf_counter()
            step()
            times.append(time.perf_counter() - start_s)
    return statistics.median(times)


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def reset_peak_memory(device: str) -> int:
    """Start a new peak-memory window; return the memory in use now (bytes, see the module docstring)."""
    if is_cuda(device):
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        return torch.cuda.memory_allocated(device)
    try:
        with open("/proc/self/clear_refs", "w") as f:  # Linux ≥ 4.0: "5" resets VmHWM to VmRSS
            f.write("5")
        return _status_kib("VmRSS") * 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def peak_memory(device: str) -> int:
    """The peak memory (bytes) since the last ``reset_peak_memory``."""
    if is_cuda(device):
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device)
    try:
        return _status_kib("VmHWM") * 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
