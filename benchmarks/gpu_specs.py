"""Peak memory bandwidth and dense arithmetic throughput of data-centre GPUs, from NVIDIA's data sheets (dense
figures: the data sheets' "with sparsity" numbers halved), for the benchmarks' roofline.

``SPECS`` maps a short name (``--gpu``) to the figures; :func:`lookup` matches ``torch.cuda.get_device_name()``
by substring, first match wins (so the more specific names come first).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GPUSpec:
    name: str  # substring of torch.cuda.get_device_name()
    bandwidth_gbs: float  # DRAM, GB/s
    tflops: dict[str, float]  # dense TFLOP/s by precision: fp32 (CUDA cores), tf32, bf16, fp16, fp64


def _spec(name: str, bandwidth: float, fp32: float, tf32: float, bf16: float, fp64: float) -> GPUSpec:
    return GPUSpec(name, bandwidth, {"fp32": fp32, "tf32": tf32, "bf16": bf16, "fp16": bf16, "fp64": fp64})


SPECS = {
    "h200-nvl": _spec("H200 NVL", 4800, 60, 418, 835, 30),
    "h200": _spec("H200", 4800, 67, 495, 989, 34),
    "h100-nvl": _spec("H100 NVL", 3900, 60, 418, 835, 30),
    "h100-pcie": _spec("H100 PCIe", 2000, 51, 378, 756, 26),
    "h100": _spec("H100", 3350, 67, 495, 989, 34),
    "a100-pcie": _spec("A100 80GB PCIe", 1935, 19.5, 156, 312, 9.7),
    "a100": _spec("A100-SXM4-80GB", 2039, 19.5, 156, 312, 9.7),
    "a100-40gb": _spec("A100", 1555, 19.5, 156, 312, 9.7),
}


def lookup(device_name: str) -> GPUSpec | None:
    """The spec whose name occurs in ``device_name`` (e.g. "NVIDIA H200"), or None."""
    return next((spec for spec in SPECS.values() if spec.name in device_name), None)
