"""Launch configurations of the Encoding kernels (:mod:`encnet.nn.triton_kernels`): the autotune candidates
per kernel, K and dot-product policy, and the per-block shared-memory limit of each GPU architecture.

Every candidate is spill-free on sm_75–sm_90 (and sm_100/sm_120 where Triton compiles for them), checked by
compiling them ahead of time (``benchmarks/triton_resources.py``, ``tests/test_triton_resources.py``).
fp64 kernels hold twice the registers and spill at these tiles: on a GPU, fp64 inputs run by the matmul form
(:data:`GPU_DTYPES`); the kernels compute fp64 only in the Triton interpreter, for the tests.
"""

from __future__ import annotations

import triton

# Shared memory per block (opt-in maximum) by compute capability ×10, bytes (CUDA programming guide).
SHARED_LIMIT = {75: 64 << 10, 80: 163 << 10, 86: 99 << 10, 87: 163 << 10, 89: 99 << 10, 90: 227 << 10,
                100: 227 << 10, 120: 99 << 10}


def triton_version() -> tuple[int, int]:
    return tuple(int(part) for part in triton.__version__.split(".")[:2])


GPU_DTYPES = ("fp32", "bf16", "fp16")
"""Input dtypes the compiled kernels take on a GPU (fp64: the matmul form, see above)."""

FP64_DOTS = triton_version() >= (3, 8)
"""Whether this Triton compiles fp64 dot products (3.8 does; 3.6 and 3.7 fail at the fp64 `tl.dot`): without,
fp64 inputs run by the matmul form."""


def block_k(num_codes: int) -> int:
    """The codeword tile: all K codewords (≥ 16, the smallest ``tl.dot`` side), padded to a power of two."""
    return max(16, triton.next_power_of_2(num_codes))


def before(kernel: str, num_codes: int) -> list[triton.Config]:
    """The fixed tiles the kernels had before the candidates below (for comparison only)."""
    return [triton.Config({"BLOCK_N": 64 if block_k(num_codes) <= 64 else 32, "BLOCK_C": 32},
                          num_warps=4, num_stages=3)]


# Candidates by BLOCK_K (N positions × C channels per tile, warps, pipeline stages), chosen from the resource
# table: registers grow with the K×N tiles the kernels keep (distances, assignments and, backward, their
# gradients), so larger K gets fewer positions per tile; 8 warps spread them over more threads.
_CANDIDATES = {
    "forward": {16: [(64, 32, 8, 2), (64, 16, 8, 1)], 32: [(64, 32, 8, 2), (64, 16, 8, 1)],
                64: [(64, 16, 8, 1), (32, 16, 8, 2)], 128: [(32, 16, 8, 2), (32, 16, 8, 1)]},
    "backward": {16: [(64, 32, 8, 1), (32, 16, 8, 1)], 32: [(64, 32, 8, 1), (32, 16, 8, 1)],
                 64: [(64, 16, 8, 1), (32, 16, 8, 1)], 128: [(32, 16, 8, 1), (16, 16, 8, 1)]},
}
MAX_CODES = max(_CANDIDATES["forward"])
"""The largest K the kernels have tiles for; beyond it ``impl="auto"`` runs the matmul form."""


def _config(n: int, c: int, warps: int, stages: int) -> triton.Config:
    return triton.Config({"BLOCK_N": n, "BLOCK_C": c}, num_warps=warps, num_stages=stages)


def candidates(kernel: str, num_codes: int, policy: str = "ieee", dtype: str = "fp32",
               arch: int = 90) -> list[triton.Config]:
    """The configurations autotune chooses from for ``kernel`` ("forward"/"backward") at K = ``num_codes`` on
    compute capability ``arch`` (×10); none above ``MAX_CODES``. Before sm_80, bf16 has no hardware
    conversions and the backward's 64-position tiles spill: there it keeps tiles of at most 32 positions."""
    tiles = _CANDIDATES[kernel].get(block_k(num_codes), [])
    if arch < 80 and dtype == "bf16" and kernel == "backward":
        tiles = [tile for tile in tiles if tile[0] <= 32]
    return [_config(*tile) for tile in tiles]


def all_candidates(kernel: str) -> list[triton.Config]:
    """Every candidate of ``kernel``, once (autotune's list, pruned per call to :func:`candidates`)."""
    tiles = dict.fromkeys(tile for by_k in _CANDIDATES[kernel].values() for tile in by_k)
    return [_config(*tile) for tile in tiles]
