"""``encnet-convert-weights`` on PyTorch-Encoding's layout (its key names and shapes, tests/fixtures/
pytorch_encoding.py) and the converter's errors; the mmsegmentation side is tests/test_zoo_mmseg.py."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from encnet.cli.convert_weights import main
from encnet.cli.evaluate import run as evaluate
from encnet.tasks import SegmentationTask
from encnet.tasks.loading import load_weights
from encnet.zoo.conversion import convert
from tests.conftest import assert_eval_outputs
from tests.fixtures.datasets import make_ade20k
from tests.fixtures.pytorch_encoding import encnet_shapes

# (PyTorch-Encoding key, this project's key) pairs, written out independently of the converter's rules.
SAME_TENSOR = [
    ("pretrained.conv1.6.weight", "net.backbone.conv1.6.weight"),
    ("pretrained.bn1.running_var", "net.backbone.bn1.running_var"),
    ("pretrained.layer3.5.conv2.weight", "net.backbone.layer3.5.conv2.weight"),
    ("pretrained.layer4.0.downsample.1.bias", "net.backbone.layer4.0.downsample.1.bias"),
    ("head.conv5.0.weight", "net.reduce.0.weight"),
    ("head.encmodule.encoding.0.weight", "net.cem.encoder.pre_conv.0.weight"),
    ("head.encmodule.encoding.1.running_mean", "net.cem.encoder.pre_conv.1.running_mean"),
    ("head.encmodule.encoding.3.codewords", "net.cem.encoder.encoding.codewords"),
    ("head.encmodule.encoding.4.weight", "net.cem.encoder.norm.0.weight"),
    ("head.encmodule.fc.0.bias", "net.cem.fc.0.bias"),
    ("head.encmodule.selayer.weight", "net.se_head.weight"),
    ("head.conv6.1.weight", "net.classifier.1.weight"),
    ("auxlayer.conv5.1.weight", "net.aux_head.conv.1.weight"),
    ("auxlayer.conv5.4.bias", "net.aux_head.classifier.1.bias"),
]
LATERAL = [("head.connect.1.0.weight", "net.lateral.1.0.weight"), ("head.fusion.1.bias", "net.fusion.1.bias")]


def random_state(shapes: dict[str, tuple[int, ...]], seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {k: torch.zeros(s, dtype=torch.long) if k.endswith("num_batches_tracked") else torch.randn(s, generator=g)
            for k, s in shapes.items()}


@pytest.fixture(scope="module")
def ade_r50(tmp_path_factory):
    """A random ``encnet_resnet50s_ade`` (bare state_dict, as its model store has it) and its conversion."""
    tmp = tmp_path_factory.mktemp("encoding")
    state = random_state(encnet_shapes(50, "ade"))
    torch.save(state, tmp / "encnet_resnet50s_ade.pth")
    convert(str(tmp / "encnet_resnet50s_ade.pth"), tmp / "ade.ckpt", "pytorch-encoding")
    return state, tmp / "ade.ckpt"


def check_conversion(state: dict[str, torch.Tensor], ckpt, depth: int, num_classes: int, lateral: bool) -> None:
    task = SegmentationTask.load_from_checkpoint(ckpt, map_location="cpu")
    hp = task.hparams
    assert hp.backbone == {"depth": depth, "output_stride": 8, "deep_stem": True, "stem_width": 64, "width": 1.0,
                           "pretrained": None}
    assert (hp.num_classes, hp.head_channels, hp.num_codes, hp.aux_channels) == (num_classes, 512, 32, 256)
    assert (hp.cem, hp.lateral, hp.align_corners, hp.stage3_se) == ("released", lateral, True, False)
    assert (hp.se_loss_weight, hp.aux_weight) == (0.2, 0.2)
    ours = task.state_dict()
    for theirs_key, our_key in SAME_TENSOR + (LATERAL if lateral else []):
        torch.testing.assert_close(ours[our_key], state[theirs_key], rtol=0, atol=0)
    # the smoothing factors change sign: theirs softmax(scale·‖r‖²), ours softmax(−s_k‖r‖²)
    torch.testing.assert_close(ours["net.cem.encoder.encoding.scale"], -state["head.encmodule.encoding.3.scale"])
    # every tensor, and nothing else: same count, same shapes, same total magnitude
    theirs = [v for k, v in state.items() if not k.endswith("num_batches_tracked")]
    mine = [v for k, v in ours.items() if not k.endswith("num_batches_tracked")]
    assert sorted(tuple(v.shape) for v in theirs) == sorted(tuple(v.shape) for v in mine)
    assert sum(v.abs().sum() for v in mine).item() == pytest.approx(sum(v.abs().sum() for v in theirs).item())


def test_pytorch_encoding_ade20k_resnet50s(ade_r50):
    check_conversion(*ade_r50, depth=50, num_classes=150, lateral=False)


def test_pytorch_encoding_pcontext_resnet101s_without_num_batches_tracked(tmp_path):
    """PASCAL-Context models have the lateral head; files saved by older torch lack num_batches_tracked."""
    state = random_state(encnet_shapes(101, "pcontext", tracked=False), seed=1)
    torch.save(state, tmp_path / "encnet_resnet101s_pcontext.pth")
    main([str(tmp_path / "encnet_resnet101s_pcontext.pth"), str(tmp_path / "pcontext.ckpt"),
          "--source", "pytorch-encoding"])
    check_conversion(state, tmp_path / "pcontext.ckpt", depth=101, num_classes=59, lateral=True)


def test_converted_checkpoint_runs_through_encnet_eval(ade_r50, tmp_path, compose_eval):
    """The converted ADE20K model under PyTorch-Encoding's protocol (long side, flip, windows), scaled down."""
    cfg = compose_eval("data=ade20k", f"data.root={make_ade20k(tmp_path / 'ADEChallengeData2016')}",
                       f"ckpt_path={ade_r50[1]}", "protocol=pytorch_encoding", "eval.base_size=48",
                       "eval.crop_size=40", "eval.scales=[0.75,1.0]", "data.num_workers=0", "print_config=false",
                       "trainer.enable_progress_bar=false", tiny=False)
    assert (cfg.eval.resize_side, cfg.eval.flip, cfg.eval.align_corners) == ("long", True, True)
    record = evaluate(cfg)
    assert record["eval"]["resize_side"] == "long"
    assert_eval_outputs(record, tmp_path / "run", cfg.data)


def test_converted_checkpoint_starts_fine_tuning(ade_r50, compose_train):
    """``encnet-train init_weights=<converted>`` with the architecture keys the README gives for resnet50s."""
    cfg = compose_train("~experiment", "data=ade20k", "data.root=/data", "model.backbone.deep_stem=true",
                        "model.backbone.stem_width=64", "model.stage3_se=false", "model.align_corners=true",
                        tiny=False)
    task = instantiate(cfg.model)
    load_weights(task, str(ade_r50[1]))
    torch.testing.assert_close(task.net.cem.encoder.encoding.codewords,
                               ade_r50[0]["head.encmodule.encoding.3.codewords"])


@pytest.mark.parametrize("keys,message", [
    ({"head.aspp.b0.0.weight": (8, 8, 1, 1)}, "not an EncNet: it looks like DeepLab"),
    ({"head.conv5.0.conv1.0.weight": (8, 8, 1, 1)}, "not an EncNet: it looks like PSPNet"),
    ({"head.conv5.0.weight": (8, 8, 3, 3)}, r"not an EncNet: .*no Encoding layer head.encmodule.encoding.3.codewords"),
])
def test_other_networks_in_pytorch_encoding_layout(tmp_path, keys, message):
    state = random_state({"pretrained.conv1.weight": (64, 3, 7, 7)} | keys)
    torch.save(state, tmp_path / "other.pth")
    with pytest.raises(ValueError, match=message):
        convert(str(tmp_path / "other.pth"), tmp_path / "x.ckpt", "pytorch-encoding")


def test_url_source_goes_through_torch_hub(tmp_path, monkeypatch):
    """An http(s) SRC is fetched by torch.hub (weights only) into its cache; the cached file is hashed."""
    url = "https://weights.invalid/models/encnet_resnet50s_ade.pth"
    cached = tmp_path / "hub" / "checkpoints" / "encnet_resnet50s_ade.pth"

    def download(src, map_location, weights_only):  # torch.hub.load_state_dict_from_url, offline
        assert (src, weights_only) == (url, True)
        cached.parent.mkdir(parents=True)
        torch.save(random_state(encnet_shapes(50, "ade")), cached)
        return torch.load(cached, map_location=map_location, weights_only=True)

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", download)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    provenance = convert(url, tmp_path / "x.ckpt", "pytorch-encoding")
    assert provenance["source_file"] == url
    assert provenance["sha256"] == hashlib.sha256(cached.read_bytes()).hexdigest()


def test_pickled_objects_need_allow_pickle(tmp_path):
    """A checkpoint whose metadata holds objects beyond tensors and containers (here a numpy scalar)."""
    path = tmp_path / "with_meta.pth"
    torch.save({"meta": {"seed": np.float64(1.0)}, "state_dict": random_state(encnet_shapes(50, "ade"))}, path)
    with pytest.raises(ValueError, match=r"with_meta.pth: holds numpy\S*scalar, which torch.load\(weights_only=True\) "
                                         "refuses; if you trust the file: encnet-convert-weights --allow-pickle"):
        convert(str(path), tmp_path / "x.ckpt", "pytorch-encoding")
    provenance = convert(str(path), tmp_path / "x.ckpt", "pytorch-encoding", allow_pickle=True)
    assert provenance["source"] == "pytorch-encoding"


def test_errors_name_the_file_key_or_value(tmp_path):
    shapes = encnet_shapes(50, "ade")
    path = tmp_path / "enc.pth"
    torch.save(random_state(shapes), path)
    with pytest.raises(ValueError, match="in pytorch-encoding's layout, not mmseg's: pass --source pytorch-encoding"):
        convert(str(path), tmp_path / "x.ckpt", "mmseg")
    with pytest.raises(ValueError, match="--num-classes must be ≥ 1, got 0"):
        convert(str(path), tmp_path / "x.ckpt", "pytorch-encoding", num_classes=0)
    torch.save(random_state({k: s for k, s in shapes.items() if not k.startswith("pretrained.layer3.5.")}), path)
    with pytest.raises(ValueError, match=r"backbone stages hold \[3, 4, 5, 3\] bottleneck blocks"):
        convert(str(path), tmp_path / "x.ckpt", "pytorch-encoding")
    torch.save({"foo": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match=r"enc.pth is not in mmseg's layout: no key starts with backbone\. and "
                                         r"decode_head\. \(its keys: foo\)"):
        convert(str(path), tmp_path / "x.ckpt", "mmseg")
    path.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="enc.pth: not a checkpoint torch.load can read"):
        convert(str(path), tmp_path / "x.ckpt", "pytorch-encoding")
    with pytest.raises(FileNotFoundError, match="nope.pth: no such checkpoint file"):
        convert(str(tmp_path / "nope.pth"), tmp_path / "x.ckpt", "pytorch-encoding")
    with pytest.raises(SystemExit):
        main([str(path), str(tmp_path / "x.ckpt"), "--source", "caffe"])
