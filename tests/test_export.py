"""Export: ``encnet-export`` to ONNX and TorchScript, run on inputs of other sizes than the traced one."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from encnet.cli import export as export_app
from encnet.data.context_scenes import CLASSES
from encnet.data.visualize import palette
from encnet.inference.export import export, max_difference, run_exported
from encnet.models import EncNet
from encnet.tasks.loading import load_task


def test_run_onnx_export_matches_pytorch_at_other_sizes(compose_app, tiny_checkpoint, tmp_path):
    pytest.importorskip("onnxruntime")
    output = tmp_path / "encnet.onnx"
    cfg = compose_app("export", f"ckpt_path={tiny_checkpoint}", "format=onnx", f"output={output}",
                      "example_shape=[1,3,64,64]")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reported = export_app.run(cfg)
    assert reported < 1e-3
    assert not [w for w in caught if "encnet" in w.filename or "onnx" in str(w.message).lower()], caught

    net = load_task(str(tiny_checkpoint)).net
    images = torch.randn(3, 3, 45, 77)  # a third batch size and size, neither traced nor checked by the app
    with torch.no_grad():
        expected = net.eval()(images)["out"]
    torch.testing.assert_close(run_exported(output, "onnx", images), expected, rtol=1e-3, atol=1e-4)
    import onnx

    metadata = {p.key: json.loads(p.value) for p in onnx.load(str(output)).metadata_props}
    assert metadata["class_names"] == list(CLASSES)  # the checkpoint's classes travel inside the file
    assert metadata["class_colours"] == palette(len(CLASSES)).tolist()


def test_torchscript_export_of_a_triton_encoding_runs_the_matmul_form(tmp_path):
    """impl='triton' is not traced into the export: the saved graph is the matmul form, valid at any size."""
    net = EncNet(5, backbone={"depth": 18, "width": 0.125}, head_channels=16, num_codes=4,
                 encoding_impl="triton").eval()
    path = export(net, "torchscript", tmp_path / "encnet.torchscript", example_shape=(1, 3, 64, 64),
                  metadata={"class_names": '["a", "b"]'})
    extra = {"class_names": ""}
    assert "triton" not in torch.jit.load(str(path), _extra_files=extra).inlined_graph.__str__().lower()
    assert extra["class_names"] == b'["a", "b"]'

    assert max_difference(net, path, "torchscript", (2, 3, 50, 83)) < 1e-4


def test_unknown_format_is_named(tmp_path):
    with pytest.raises(ValueError, match="'tflite'"):
        export(torch.nn.Identity(), "tflite", tmp_path / "x")
