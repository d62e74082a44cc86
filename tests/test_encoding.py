"""Encoding layer: matmul form vs the broadcast reference, gradients, dtypes, memory."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from encnet.nn import Encoding, encoding_matmul, encoding_reference


def _inputs(b, c, n, k, dtype=torch.float64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, c, n, generator=g, dtype=dtype)
    codewords = torch.randn(k, c, generator=g, dtype=dtype) * 0.5
    scale = torch.rand(k, generator=g, dtype=dtype)
    return x, codewords, scale


@pytest.mark.parametrize("b,c,n,k", [(1, 1, 1, 1), (2, 7, 13, 1), (3, 16, 50, 5), (2, 33, 64, 32), (1, 8, 9, 128)])
def test_matmul_matches_reference_fp64(b, c, n, k):
    x, d, s = _inputs(b, c, n, k)
    torch.testing.assert_close(encoding_matmul(x, d, s), encoding_reference(x, d, s), rtol=1e-10, atol=1e-10)


def test_matches_literal_equations():
    """e_k = Σ_i a_ik (x_i − d_k), a_ik = softmax_k(−s_k‖x_i − d_k‖²), written out with loops."""
    x, d, s = _inputs(1, 3, 4, 2)
    expected = torch.zeros(2, 3, dtype=torch.float64)
    for i in range(4):
        xi = x[0, :, i]
        logits = torch.stack([-s[k] * ((xi - d[k]) ** 2).sum() for k in range(2)])
        a = torch.softmax(logits, 0)
        for k in range(2):
            expected[k] += a[k] * (xi - d[k])
    torch.testing.assert_close(encoding_matmul(x, d, s)[0], expected)


def test_single_code_assigns_everything():
    """K = 1: every a_i1 = 1, so e_1 = Σ_i x_i − N d_1."""
    x, d, s = _inputs(2, 5, 11, 1)
    expected = x.sum(2) - 11 * d[0]
    torch.testing.assert_close(encoding_matmul(x, d, s)[:, 0], expected)


def test_gradcheck():
    x, d, s = (t.requires_grad_() for t in _inputs(2, 4, 6, 3))
    assert torch.autograd.gradcheck(encoding_matmul, (x, d, s))


def test_gradients_match_reference():
    grads = []
    for fn in (encoding_matmul, encoding_reference):
        x, d, s = (t.requires_grad_() for t in _inputs(2, 6, 20, 4, seed=3))
        fn(x, d, s).pow(2).sum().backward()
        grads.append((x.grad, d.grad, s.grad))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_bf16_input_is_the_bf16_dot_policy_in_fp32():
    """bf16 x: exactly the fp32 computation with bf16 dot operands (matmul precision "medium"), cast back."""
    layer = Encoding(32, 8)
    x = torch.randn(2, 32, 6, 6).to(torch.bfloat16)
    out = layer(x)
    assert out.dtype == torch.bfloat16
    torch.set_float32_matmul_precision("medium")
    try:
        expected = layer(x.float()).to(torch.bfloat16)  # same rounded inputs, fp32 with bf16 dot operands
    finally:
        torch.set_float32_matmul_precision("highest")
    assert torch.equal(out, expected)
    out.float().sum().backward()
    assert layer.codewords.grad.dtype == torch.float32 and torch.isfinite(layer.codewords.grad).all()


def test_fp16_input_keeps_fp32_accuracy_but_the_operands():
    """fp16 x: fp16 dot operands, fp32 accumulation; within the fp16 policy's bound of the fp32 result."""
    from encnet.nn.precision import ERROR_BOUNDS

    layer = Encoding(32, 8)
    x = torch.randn(2, 32, 6, 6).to(torch.float16)
    out = layer(x)
    assert out.dtype == torch.float16
    expected = layer(x.float())
    assert ((out.float() - expected).abs().max() / expected.abs().max()).item() <= ERROR_BOUNDS["fp16"]


def test_autocast_bf16_is_the_fp32_result():
    """fp32 x under bf16 autocast: the layer switches autocast off, so exactly the fp32 computation."""
    layer = Encoding(16, 4)
    x = torch.randn(2, 16, 5, 5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x)
    assert out.dtype == torch.float32 and torch.equal(out, layer(x))


def test_layer_shapes_and_init():
    layer = Encoding(64, 32)
    assert layer.codewords.shape == (32, 64) and layer.scale.shape == (32,)
    bound = 1 / (32 * 64) ** 0.5
    assert layer.codewords.abs().max() <= bound
    assert (layer.scale > 0).all() and (layer.scale < 1).all()
    assert layer(torch.randn(3, 64, 7, 9)).shape == (3, 32, 64)
    assert layer(torch.randn(3, 64, 10)).shape == (3, 32, 64)
    ref = Encoding(64, 32, impl="reference")
    ref.load_state_dict(layer.state_dict())
    x = torch.randn(2, 64, 4, 4)
    torch.testing.assert_close(layer(x), ref(x), rtol=1e-4, atol=1e-4)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_codes"):
        Encoding(8, 0)
    with pytest.raises(ValueError, match="impl"):
        Encoding(8, 4, impl="cuda-ext")
    with pytest.raises(ValueError, match=r"B×8×H×W"):
        Encoding(8, 4)(torch.randn(2, 9, 4, 4))


_PEAK = """
import sys, torch
from encnet.nn import encoding_matmul, encoding_reference
def status(key):
    return next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith(key))
fn = {"matmul": encoding_matmul, "reference": encoding_reference}[sys.argv[1]]
torch.manual_seed(0)
x = torch.randn(1, 256, 64 * 64, requires_grad=True)
d = torch.randn(32, 256, requires_grad=True); s = torch.rand(32, requires_grad=True)
open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to the current RSS
before = status("VmRSS:")
fn(x, d, s).sum().backward()
print(status("VmHWM:") - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the peak RSS from /proc/self/status")
def test_matmul_peak_memory_far_below_broadcast():
    """At B=1, C=256, N=4096, K=32 one B×N×K×C fp32 tensor is 128 MiB; the matmul form must stay far below."""
    extra = {}
    for impl in ("matmul", "reference"):
        out = subprocess.run([sys.executable, "-c", _PEAK, impl], capture_output=True, text=True, check=True)
        extra[impl] = int(out.stdout.strip().splitlines()[-1])
    assert extra["reference"] > 128 * 2**20, extra  # the broadcast form really builds B×N×K×C tensors
    assert extra["matmul"] * 10 < extra["reference"], extra


def test_shakeout_draws_scale_in_training_and_fixes_it_in_eval():
    layer = Encoding(4, 3, shakeout=True)
    layer.train()
    draws = torch.stack([layer.smoothing_factors() for _ in range(50)])
    assert draws.min() >= 0 and draws.max() < 1 and draws.std() > 0.1
    assert not torch.equal(draws[0], draws[1])
    layer.eval()
    assert torch.equal(layer.smoothing_factors(), torch.full((3,), 0.5))
    x = torch.randn(2, 4, 10)
    torch.testing.assert_close(layer(x), encoding_matmul(x, layer.codewords, torch.full((3,), 0.5)))


def test_without_shakeout_scale_is_the_learnt_parameter():
    layer = Encoding(4, 3)
    assert layer.smoothing_factors() is layer.scale


def test_deterministic_mode_never_picks_the_atomic_kernels():
    """Under torch.use_deterministic_algorithms(True), `auto` is the matmul form and `triton` is refused."""
    from encnet.nn.encoding import resolve_impl

    x = torch.randn(1, 4, 6)
    torch.use_deterministic_algorithms(True)
    try:
        assert resolve_impl("auto", x) == "matmul"
        with pytest.raises(RuntimeError, match="impl='triton' is not deterministic"):
            resolve_impl("triton", x)
        torch.use_deterministic_algorithms(True, warn_only=True)
        with pytest.warns(UserWarning, match="impl='triton' is not deterministic"):
            assert resolve_impl("triton", x) == "triton"
    finally:
        torch.use_deterministic_algorithms(False)
    assert resolve_impl("triton", x) == "triton"
