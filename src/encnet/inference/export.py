"""Export a trained segmentor to ONNX or TorchScript, and check the export against PyTorch.

The exported model maps normalised images ``images`` B×3×H×W (float32, ImageNet mean/std) to class logits
``logits`` B×K×H×W, with batch, height and width all dynamic. The Encoding layer is exported through its
matmul form (:func:`encnet.nn.encoding.resolve_impl` picks it whenever the model is being exported or traced).

ONNX goes through ``torch.onnx.export(..., dynamo=True)`` (needs ``onnx`` and ``onnxscript``; the check needs
``onnxruntime``: ``pip install 'encnet[export]'``); TorchScript through ``torch.jit.trace``.

``metadata`` (``encnet-export``: the classes' names and colours, as JSON strings) travels inside the file: the
ONNX model's ``metadata_props``, the TorchScript archive's extra files (``torch.jit.load(..., _extra_files=)``).
A full disk is one :class:`encnet.infra.outputs.DiskFullError` naming the file.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn

from encnet.infra.outputs import write_bytes

FORMATS = ("onnx", "torchscript")


class SegmentationLogits(nn.Module):
    """A segmentor's inference form: images B×3×H×W → logits B×K×H×W (the ``out`` of its output dict)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)["out"]


def export(net: nn.Module, fmt: str, output: str | Path, example_shape: Sequence[int] = (1, 3, 128, 128),
           metadata: Mapping[str, str] | None = None) -> Path:
    """Export ``net`` (a segmentor returning a dict with ``out``) in format ``fmt`` to ``output``, traced on a
    random input of ``example_shape``, with ``metadata`` (name → text) inside; return the written path."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    output = Path(output).expanduser()
    metadata = dict(metadata or {})
    model = SegmentationLogits(net).eval()
    example = torch.randn(*example_shape, generator=torch.Generator().manual_seed(0))
    with warnings.catch_warnings():
        # Shape checks (e.g. the Encoding layer's channel count) are constants of the network, not of the input.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        if fmt == "torchscript":
            with torch.no_grad():
                traced = torch.jit.trace(model, example)
            buffer = io.BytesIO()
            torch.jit.save(traced, buffer, _extra_files=metadata)
            return write_bytes(output, buffer.getvalue())
        proto = _export_onnx(model, example)
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=value)
    return write_bytes(output, proto.SerializeToString())


# Loggers that report the ONNX exporter's progress at INFO level (Hydra's job logging shows INFO): torchvision's
# operators skipped when it is not installed, onnxscript's graph rewrites.
EXPORTER_LOGGERS = ("torch.onnx._internal.exporter._registration", "onnxscript", "onnx_ir")


def _export_onnx(model: nn.Module, example: Tensor):
    """The ONNX ``ModelProto`` of ``model`` traced on ``example`` (batch, height and width dynamic)."""
    batch, height, width = torch.export.Dim("batch"), torch.export.Dim("height"), torch.export.Dim("width")
    loggers = [logging.getLogger(name) for name in EXPORTER_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        # optimize=False: onnxruntime folds constants and fuses layers itself when it loads the model.
        program = torch.onnx.export(model, (example,), input_names=["images"], output_names=["logits"],
                                    dynamic_shapes={"images": {0: batch, 2: height, 3: width}}, dynamo=True,
                                    optimize=False, verbose=False)
        return program.model_proto
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def run_exported(path: str | Path, fmt: str, images: Tensor) -> Tensor:
    """Logits of the exported model at ``path`` on ``images`` (onnxruntime on the CPU for ONNX)."""
    if fmt == "torchscript":
        with torch.no_grad():
            return torch.jit.load(str(path), map_location="cpu")(images)
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(["logits"], {"images": images.numpy()})[0])


def max_difference(net: nn.Module, path: str | Path, fmt: str, check_shape: Sequence[int]) -> float:
    """max |exported − PyTorch| of the logits on a random input of ``check_shape`` (meant to differ from the
    shape the export was traced on)."""
    images = torch.randn(*check_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = SegmentationLogits(net).eval()(images)
    got = run_exported(path, fmt, images)
    if got.shape != expected.shape:
        raise RuntimeError(f"the exported model gives logits of shape {tuple(got.shape)} on input "
                           f"{tuple(check_shape)}, PyTorch {tuple(expected.shape)}")
    return float(np.abs(got.numpy() - expected.numpy()).max())
