"""The precision of the Encoding layer's dot products, one policy for the matmul form and the Triton kernels.

The two dot products of eq. 1–2 (codewords·x for the distances, assignmentsᵀ·x for the aggregation) take
their operands in the dtype this policy names and always accumulate in fp32 (fp64 for fp64 inputs); the
softmax, the norms and the sums are computed in fp32 whatever the policy.

================================  ==========  ==================================================
input x                           policy      dot operands
================================  ==========  ==================================================
fp32, matmul precision highest    ``ieee``    fp32 on CUDA cores (no TF32)
fp32, matmul precision high       ``tf32``    TF32 tensor cores (sm_80+; ``ieee`` before)
fp32, matmul precision medium     ``bf16``    rounded to bf16 (sm_80+; ``ieee`` before)
bf16 (bf16-mixed training)        ``bf16``    bf16 as given, codewords and assignments rounded (sm_80+)
fp16 (16-mixed training)          ``fp16``    fp16 as given, codewords and assignments rounded
fp64                              ``ieee``    fp64
================================  ==========  ==================================================

"matmul precision" is ``torch.get_float32_matmul_precision()`` (``torch.set_float32_matmul_precision``,
Lightning's ``trainer.precision`` does not change it). GPUs before sm_80 have neither TF32 nor bf16 tensor
cores: there the policy falls back to ``ieee`` (fp32 operands).
"""

from __future__ import annotations

import torch

POLICIES = ("ieee", "tf32", "bf16", "fp16")
ERROR_BOUNDS = {"ieee": 1e-5, "tf32": 1e-2, "bf16": 5e-2, "fp16": 1e-2}
"""What each policy promises: max |error| / max |exact| of the output and of each gradient, against the fp64
computation on the same inputs (tested for the matmul form and the Triton kernels)."""
_FP32_BY_MATMUL_PRECISION = {"highest": "ieee", "high": "tf32", "medium": "bf16"}
_OPERAND_DTYPE = {"bf16": torch.bfloat16, "fp16": torch.float16}


def dot_precision(dtype: torch.dtype, device: torch.device | str = "cpu") -> str:
    """The policy (one of ``POLICIES``) for dot products of an input of ``dtype`` on ``device``."""
    if dtype == torch.float64:
        return "ieee"
    if dtype == torch.float16:
        return "fp16"
    policy = "bf16" if dtype == torch.bfloat16 else _FP32_BY_MATMUL_PRECISION[_matmul_precision()]
    device = torch.device(device)
    if policy in ("tf32", "bf16") and device.type == "cuda" and _before_ampere(device.index):
        return "ieee"
    return policy


# Read as constants under torch.compile (a graph is recompiled when they change), so that the policy traces.
@torch.compiler.assume_constant_result
def _matmul_precision() -> str:
    return torch.get_float32_matmul_precision()


@torch.compiler.assume_constant_result
def _before_ampere(index: int | None) -> bool:
    return torch.cuda.get_device_capability(index) < (8, 0)


def dot_operands(policy: str, *tensors: torch.Tensor) -> list[torch.Tensor]:
    """``tensors`` (fp32 or fp64) as the operands of a ``policy`` dot product, still in their dtype: rounded to
    bf16/fp16 for those policies (products of such values are exact in fp32, so an fp32 matrix product of them
    is a bf16/fp16 tensor-core product with fp32 accumulation), unchanged for ieee/tf32. The rounding passes
    gradients through unchanged (straight-through), as the kernels' backward does."""
    operand = _OPERAND_DTYPE.get(policy)
    if operand is None:
        return list(tensors)
    return [t + (t.detach().to(operand).to(t.dtype) - t.detach()) for t in tensors]
