"""Triton Encoding kernels against the broadcast reference, forward and all three gradients.

Without a GPU the kernels run on CPU tensors through the Triton interpreter: ``tests/conftest.py`` sets
``TRITON_INTERPRET=1`` before anything imports Triton. The interpreter executes every program in Python,
hence the tiny shapes. With a GPU the same tests run the compiled kernels on CUDA tensors, and the
``test_gpu_*`` tests add realistic sizes.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch

from encnet.nn import ContextEncodingModule, Encoding, encoding_matmul, encoding_reference
from encnet.nn.encoding import resolve_impl
from encnet.nn.precision import ERROR_BOUNDS

from .conftest import assert_metrics_recount

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
# Triton is a dependency on Linux (pyproject's triton extra, in dev; CUDA builds of torch bring their own): there
# it must import. Elsewhere it has no wheels: skip only where Triton itself is missing; an import error of the
# kernels module fails everywhere.
if sys.platform != "linux":
    pytest.importorskip("triton", reason="Triton ships Linux wheels only")
kernels = importlib.import_module("encnet.nn.triton_kernels")
triton_tiles = kernels.triton_tiles
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
precision_benchmark = importlib.import_module("encoding_precision")

encoding_triton = kernels.encoding_triton
gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _inputs(b, c, n, k, dtype=torch.float64, seed=0, device=DEVICE):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, c, n, generator=g, dtype=torch.float64)
    codewords = torch.randn(k, c, generator=g, dtype=torch.float64) * 0.5
    scale = torch.rand(k, generator=g, dtype=torch.float64)
    grad = torch.randn(b, k, c, generator=g, dtype=torch.float64)
    return [t.to(device, dtype) for t in (x, codewords, scale, grad)]


def _forward_backward(fn, x, codewords, scale, grad):
    """fn's output and its gradients w.r.t. x, codewords, scale for the upstream gradient ``grad``."""
    leaves = [t.detach().clone().requires_grad_() for t in (x, codewords, scale)]
    out = fn(*leaves)
    out.backward(grad.to(out.dtype))
    return [out.detach(), *(t.grad for t in leaves)]


# (B, C, N, K): a single element; N not a multiple of the 64-position block and C (24) not a power of two;
# two blocks of N; K = 1; K = 128 (the largest tile, 32 positions per block).
SHAPES = [(1, 1, 1, 1), (2, 24, 37, 5), (2, 7, 70, 3), (1, 5, 9, 1), (1, 6, 40, 128)]


@pytest.mark.parametrize("b,c,n,k", SHAPES)
def test_fp64_matches_reference(b, c, n, k):
    x, d, s, grad = _inputs(b, c, n, k)
    got = _forward_backward(encoding_triton, x, d, s, grad)
    expected = _forward_backward(encoding_reference, x, d, s, grad)
    for name, a, e in zip(("out", "dx", "dcodewords", "dscale"), got, expected):
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-10, msg=name)


@pytest.mark.parametrize("mode", sorted(precision_benchmark.MODES))
@pytest.mark.parametrize("impl", ["matmul", "triton"])
@pytest.mark.parametrize("b,c,n,k", SHAPES[1:4])
def test_precision_policy_within_its_bound(b, c, n, k, impl, mode):
    """Each dot-product policy (fp32 under each matmul precision, bf16, fp16 inputs): output and gradients
    within the policy's promised error of the fp64 result on the same inputs, for both forms."""
    row = precision_benchmark.errors(impl, mode, b, c, n, k, DEVICE)
    bound = ERROR_BOUNDS[row["policy"]]
    assert all(row[name] <= bound for name in precision_benchmark.TENSORS), (row, bound)


def test_kernels_follow_the_matmul_precision(monkeypatch):
    """The policy reaches the kernels: fp32 inputs launch with the dots that torch's setting names."""
    launched = []
    real_launch = kernels._launch
    monkeypatch.setattr(kernels, "_launch", lambda kernel, *args: launched.append((kernel, args[-1])) or
                        real_launch(kernel, *args))
    x, d, s, grad = _inputs(1, 8, 20, 3, dtype=torch.float32)
    results = {}
    for setting in ("highest", "high", "medium"):
        torch.set_float32_matmul_precision(setting)
        try:
            results[setting] = _forward_backward(encoding_triton, x, d, s, grad)
        finally:
            torch.set_float32_matmul_precision("highest")
    expected_tf32 = "ieee" if DEVICE == "cuda" and torch.cuda.get_device_capability() < (8, 0) else "tf32"
    assert launched == [(kernel, dot) for dot in ("ieee", expected_tf32, "bf16" if expected_tf32 == "tf32" else "ieee")
                        for kernel in ("forward", "backward")]
    if expected_tf32 == "tf32":  # bf16 operands change the result; ieee is the fp32 one
        assert not torch.equal(results["medium"][0], results["highest"][0])


def test_fp64_without_fp64_dots_falls_back_to_matmul(monkeypatch):
    """A Triton without fp64 dot products (3.6) computes fp64 by the matmul form, warning once."""
    monkeypatch.setattr(triton_tiles, "FP64_DOTS", False)
    monkeypatch.setattr(kernels, "_WARNED_FP64", [])
    x, d, s, grad = _inputs(2, 6, 10, 3)
    with pytest.warns(UserWarning, match="no fp64 dot products"):
        got = _forward_backward(encoding_triton, x, d, s, grad)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _forward_backward(encoding_triton, x, d, s, grad)  # warned once
    for a, e in zip(got, _forward_backward(encoding_matmul, x, d, s, grad)):
        assert torch.equal(a, e)


def test_large_k_auto_falls_back_and_explicit_triton_refuses(monkeypatch):
    """Beyond the largest K the kernels have tiles for, auto is the matmul form (one warning), triton an error."""
    module = importlib.import_module("encnet.nn.encoding")
    monkeypatch.setattr(module, "_TRITON_UNFIT", {})
    k = triton_tiles.MAX_CODES + 1
    x, d, s, _ = _inputs(1, 4, 6, k, dtype=torch.float32)
    with pytest.warns(UserWarning, match=f"not K={k}; using impl='matmul'"):
        got = module._encoding_triton_or_fallback(x, d, s, requested="auto")
    assert torch.equal(got, encoding_matmul(x, d, s))
    with pytest.raises(RuntimeError, match=f"impl='triton': the kernels have tiles for K ≤ {k - 1}, not K={k}"):
        module._encoding_triton_or_fallback(x, d, s, requested="triton")


def test_gradcheck():
    x, d, s, _ = _inputs(2, 3, 5, 2)
    inputs = [t.requires_grad_() for t in (x, d, s)]
    assert torch.autograd.gradcheck(encoding_triton, inputs)


def test_strided_and_channels_last_inputs():
    layer = Encoding(6, 3, impl="triton").to(DEVICE)
    x = torch.randn(2, 6, 5, 7, device=DEVICE)
    expected = layer(x.contiguous())
    torch.testing.assert_close(layer(x.to(memory_format=torch.channels_last)), expected)
    wide = torch.randn(2, 6, 5, 14, device=DEVICE)
    torch.testing.assert_close(layer(wide[..., ::2]), layer(wide[..., ::2].contiguous()))
    x = x.to(memory_format=torch.channels_last).requires_grad_()
    layer(x).sum().backward()
    x_ref = x.detach().contiguous().requires_grad_()
    matmul = Encoding(6, 3, impl="matmul").to(DEVICE)
    matmul.load_state_dict(layer.state_dict())
    matmul(x_ref).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad)


@pytest.mark.parametrize("shakeout", [False, True])
def test_layer_matches_matmul_in_train_and_eval(shakeout):
    """The module path (flattening, shakeout's s_k draws) gives what the matmul form gives."""
    triton_layer = Encoding(8, 4, impl="triton", shakeout=shakeout).to(DEVICE)
    matmul_layer = Encoding(8, 4, impl="matmul", shakeout=shakeout).to(DEVICE)
    matmul_layer.load_state_dict(triton_layer.state_dict())
    x = torch.randn(2, 8, 3, 5, device=DEVICE)
    for train in (True, False):
        outs = []
        for layer in (triton_layer, matmul_layer):
            layer.train(train)
            torch.manual_seed(1)  # the same shakeout draws for both
            outs.append(layer(x))
        torch.testing.assert_close(*outs, rtol=1e-5, atol=1e-5)


def test_autocast_bf16_computes_in_fp32():
    layer = Encoding(16, 4, impl="triton").to(DEVICE)
    x = torch.randn(2, 16, 5, 5, device=DEVICE)
    with torch.autocast(DEVICE, dtype=torch.bfloat16):
        out = layer(x)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, layer(x))


@pytest.mark.parametrize("impl,fullgraph", [("matmul", True), ("triton", False)])
def test_torch_compile(impl, fullgraph):
    """matmul traces into one graph; the Triton call is a graph break (torch.compiler.disable) run eagerly."""
    layer = Encoding(8, 3, impl=impl).to(DEVICE)
    compiled = torch.compile(layer, backend="aot_eager", fullgraph=fullgraph)
    x = torch.randn(2, 8, 4, 4, device=DEVICE)
    grad = torch.randn(2, 3, 8, device=DEVICE)
    results = []
    for fn in (compiled, layer):  # output and gradients w.r.t. x, codewords, scale: compiled, then eager
        layer.zero_grad(set_to_none=True)
        leaf = x.clone().requires_grad_()
        out = fn(leaf)
        out.backward(grad)
        results.append([out.detach(), leaf.grad, layer.codewords.grad, layer.scale.grad])
    for name, got, expected in zip(("out", "dx", "dcodewords", "dscale"), *results):
        torch.testing.assert_close(got, expected, msg=name)
    if impl == "triton":
        torch._dynamo.reset()  # forget the graphs compiled above
        with pytest.raises(Exception, match="disable"):  # it really is a graph break
            torch.compile(layer, backend="aot_eager", fullgraph=True)(x)


def test_context_encoding_module_with_triton():
    torch.manual_seed(0)
    cem = ContextEncodingModule(8, 5, impl="triton").to(DEVICE)
    ref = ContextEncodingModule(8, 5, impl="reference").to(DEVICE)
    ref.load_state_dict(cem.state_dict())
    x = torch.randn(2, 8, 6, 6, device=DEVICE)
    for got, expected in zip(cem(x), ref(x)):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_interpreter_on_without_gpu():
    assert kernels.INTERPRETED == (DEVICE == "cpu")


def test_auto_resolves_by_device():
    assert resolve_impl("auto", torch.zeros(1)) == "matmul"
    assert resolve_impl("reference", torch.zeros(1)) == "reference"
    with pytest.raises(ValueError, match="impl must be one of"):
        resolve_impl("cuda-ext", torch.zeros(1))
    if torch.cuda.is_available():
        assert resolve_impl("auto", torch.zeros(1, device="cuda")) == "triton"


def test_self_check_passes_and_a_broken_kernel_falls_back_to_matmul(monkeypatch):
    """``auto`` uses the kernels on a device only after they reproduce the matmul form there."""
    module = importlib.import_module("encnet.nn.encoding")  # the package re-exports a function of that name

    monkeypatch.setattr(module, "_TRITON_CHECKED", {})
    assert module.triton_usable(torch.device(DEVICE))  # the real kernels (interpreter on CPU)

    def broken(x, codewords, scale):
        return kernels.encoding_triton(x, codewords, scale) * 1.01

    monkeypatch.setattr(module, "_TRITON_CHECKED", {})
    monkeypatch.setattr(kernels, "encoding_triton", broken)
    with pytest.warns(UserWarning, match="self-check.*using impl='matmul'"):
        assert not module.triton_usable(torch.device(DEVICE))
    assert not module.triton_usable(torch.device(DEVICE))  # remembered, warned once


@pytest.mark.parametrize("grad_mode", [torch.no_grad, torch.inference_mode])
def test_self_check_passes_under_any_grad_mode(monkeypatch, grad_mode):
    """The first ``auto`` call often comes from evaluation: the check must still take gradients and pass."""
    module = importlib.import_module("encnet.nn.encoding")
    monkeypatch.setattr(module, "_TRITON_CHECKED", {})
    with grad_mode(), warnings.catch_warnings():
        warnings.simplefilter("error")  # a failed check warns: make it fail the test
        assert module.triton_usable(torch.device(DEVICE))
        assert not torch.is_grad_enabled()  # the caller's mode is back
        layer = Encoding(8, 4, impl="triton").to(DEVICE)
        x = torch.randn(2, 8, 3, 5, device=DEVICE)
        torch.testing.assert_close(layer(x), encoding_matmul(x.flatten(2), layer.codewords, layer.scale))
    assert module._TRITON_CHECKED == {str(torch.device(DEVICE)): True}


def test_model_config_default_is_auto(compose_train):
    assert compose_train().model.encoding_impl == "auto"


def test_trains_with_triton_under_bf16_mixed(compose_train, monkeypatch, val_confusions):
    """The sweepable switch reaches every Encoding layer, and Lightning's bf16-mixed autocast runs through it:
    the kernels launch on bf16 features with bf16 dot products, forward and backward."""
    from hydra.utils import instantiate

    from encnet.cli.train import run as train
    from encnet.data.context_scenes import CLASSES

    launched = []
    real_launch = kernels._launch
    monkeypatch.setattr(kernels, "_launch", lambda kernel, *args: launched.append((kernel, *args[-2:])) or
                        real_launch(kernel, *args))
    cfg = compose_train("model.encoding_impl=triton", "trainer.precision=bf16-mixed", "trainer.fast_dev_run=true")
    layers = [m for m in instantiate(cfg.model).modules() if isinstance(m, Encoding)]
    assert len(layers) == 2 and all(m.impl == "triton" for m in layers)  # the CEM's and stage 3's
    record = train(cfg)
    assert set(launched) == {("forward", torch.bfloat16, "bf16"), ("backward", torch.bfloat16, "bf16")}
    assert [kernel for kernel, *_ in launched].count("backward") == len(layers)  # one training step
    assert_metrics_recount(record, val_confusions[-1], list(CLASSES), "val")


_NO_INTERPRETER = """
import torch
from encnet.nn import Encoding
Encoding(8, 3, impl="triton")(torch.randn(2, 8, 5))
"""


@pytest.mark.skipif(torch.cuda.is_available(), reason="the CPU error is for machines without a GPU")
def test_cpu_without_interpreter_refuses_clearly():
    env = {key: value for key, value in os.environ.items() if key != "TRITON_INTERPRET"}
    proc = subprocess.run([sys.executable, "-c", _NO_INTERPRETER], capture_output=True, text=True, env=env)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError") and "TRITON_INTERPRET=1" in last and "impl='matmul'" in last, last


# Realistic sizes on a GPU, every policy within its bound (the fp64 oracle is the matmul form, which
# tests/test_encoding.py checks against the reference; the broadcast form would need several GiB).


@gpu
@pytest.mark.parametrize("mode", sorted(precision_benchmark.MODES))
@pytest.mark.parametrize("b,c,n,k", [(4, 512, 64 * 64, 32), (2, 320, 33 * 47, 128), (3, 100, 1000, 1)])
def test_gpu_realistic_sizes(b, c, n, k, mode):
    row = precision_benchmark.errors("triton", mode, b, c, n, k, "cuda")
    bound = ERROR_BOUNDS[row["policy"]]
    assert all(row[name] <= bound for name in precision_benchmark.TENSORS), (row, bound)


@gpu
def test_gpu_channels_last_bf16():
    layer = Encoding(256, 32, impl="triton").cuda()
    x = torch.randn(4, 256, 60, 60, device="cuda", dtype=torch.bfloat16)
    torch.testing.assert_close(layer(x.to(memory_format=torch.channels_last)), layer(x), rtol=1e-2, atol=1e-2)
