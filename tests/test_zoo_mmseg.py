"""Differential test against mmsegmentation's own EncNet: the same weights give the same logits.

mmseg's EncNet R-50-D8 and R-101-D8 (its config files, random weights *and* random BatchNorm statistics) are
saved as mmseg checkpoints, converted by ``encnet-convert-weights`` and compared in eval mode on an odd-sized
input, in float64 and float32. Difference: max |ours − mmseg| / max |mmseg| over all logits. Needs the
reference packages (``make test`` installs them: requirements-reference.txt + the ``reference`` extra).
"""

from __future__ import annotations

import os

import pytest
import torch

try:
    from tests.fixtures import mmseg_reference as ref
except ImportError as err:  # CI installs the reference: there, its absence is a failure
    if os.environ.get("CI"):
        raise
    pytest.skip(f"mmsegmentation reference not installed ({err}); `make test` installs it", allow_module_level=True)

from encnet.cli.convert_weights import main
from encnet.cli.evaluate import run as evaluate
from encnet.models import ResNet
from encnet.tasks import SegmentationTask
from encnet.zoo.conversion import convert
from tests.conftest import assert_eval_outputs
from tests.fixtures.datasets import make_ade20k

SIZE = (67, 91)  # odd, not square, not a multiple of the output stride
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-4}


def relative_difference(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    return ((ours - theirs).abs().max() / theirs.abs().max()).item()


def converted(tmp_path, config, seed: int, *flags: str):
    """(mmseg net, converted task, the image, the mmseg checkpoint path) for an mmseg model config."""
    generator = torch.Generator().manual_seed(seed)
    net = ref.build(config)
    ref.randomise_(net, generator)
    image = torch.randn(1, 3, *SIZE, generator=generator, dtype=torch.float64)
    ref.soften_encoding_(net.double(), image, generator)
    src = ref.save_checkpoint(net.float(), tmp_path / "mmseg.pth")
    dst = tmp_path / "encnet.ckpt"
    main([str(src), str(dst), "--source", "mmseg", *flags])
    return net, SegmentationTask.load_from_checkpoint(dst, map_location="cpu"), image, src


@pytest.fixture(scope="module", params=[50, 101], ids=["R-50-D8", "R-101-D8"])
def pair(request, tmp_path_factory):
    return converted(tmp_path_factory.mktemp(f"r{request.param}"), ref.encnet_config(request.param), request.param)


def small_config(num_classes: int = 7):
    """mmseg's ``add_lateral`` EncHead on a 64-64-128 deep stem (ResNetV1c stem_channels=128, as PyTorch-
    Encoding's resnet50s), ``align_corners=True``, an auxiliary width other than C/4; R-50 at a quarter of
    the width (mmseg ``base_channels=16``, ours ``width=0.25``) to stay small."""
    config = ref.encnet_config(50, num_classes)
    config.backbone.update(stem_channels=128, base_channels=16)
    config.decode_head.update(in_channels=[128, 256, 512], channels=64, add_lateral=True, align_corners=True)
    config.auxiliary_head.update(in_channels=256, channels=48, align_corners=True)
    return config


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return converted(tmp_path_factory.mktemp("small"), small_config(), 18, "--align-corners")


def our_outputs(task: SegmentationTask, image: torch.Tensor) -> dict[str, torch.Tensor]:
    seen = {}
    hook = task.net.backbone.register_forward_hook(lambda m, a, out: seen.update(features=out))
    with torch.no_grad():
        outputs = task.net.eval()(image)
        hook.remove()
        outputs["aux"] = task.net.aux_head(seen["features"][2])
    return outputs | seen


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
def test_same_logits_as_mmsegmentation(pair, dtype):
    net, task, image, _ = pair
    theirs = ref.reference_outputs(net.to(dtype), image.to(dtype))
    ours = our_outputs(task.to(dtype), image.to(dtype))
    # the comparison means something: soft assignments, γ off its rails, several classes predicted
    assert theirs["assignment"].max(dim=2).values.mean() < 0.5
    assert ((theirs["gamma"] > 0.05) & (theirs["gamma"] < 0.95)).float().mean() > 0.5
    assert theirs["out"].argmax(1).unique().numel() > 1 and theirs["out"].shape == (1, 7, *SIZE)
    differences = {key: relative_difference(ours[key], theirs[key]) for key in ("out", "se", "aux")}
    print(f"\nR-{net.backbone.depth}-D8 {str(dtype).removeprefix('torch.')}: max relative difference "
          + ", ".join(f"{key} {value:.1e}" for key, value in differences.items()))
    assert max(differences.values()) <= TOLERANCE[dtype], differences


def test_the_sign_convention_matters(small):
    """The converter negates the Encoding scale; without that, outputs differ by orders of magnitude more than
    the tolerance (the comparison can fail)."""
    net, task, image, _ = small
    theirs = ref.reference_outputs(net.double(), image)
    scale = task.net.cem.encoder.encoding.scale
    with torch.no_grad():
        scale.neg_()
        try:
            wrong = our_outputs(task.double(), image)
        finally:
            scale.neg_()
    assert relative_difference(wrong["se"], theirs["se"]) > 1e-3  # the SE head reads the encoded vector alone
    assert relative_difference(wrong["out"], theirs["out"]) > 1e4 * TOLERANCE[torch.float64]


def test_imagenet_resnetv1c_loads_as_backbone_pretrained(pair, tmp_path):
    """open-mmlab's ImageNet ResNetV1c layout (``stem.*``, ``layer*``, ``fc``) through backbone.pretrained."""
    net, _, image, _ = pair
    state = dict(net.backbone.state_dict()) | {"fc.weight": torch.zeros(1000, 2048), "fc.bias": torch.zeros(1000)}
    torch.save({"state_dict": state}, tmp_path / "resnet_v1c.pth")
    ours = ResNet(net.backbone.depth, deep_stem=True, pretrained=str(tmp_path / "resnet_v1c.pth"))
    ours.load_pretrained_weights()
    ours = ours.double().eval()
    with torch.no_grad():
        theirs = net.double().eval().backbone(image)
        features = ours(image)
    for a, b in zip(features, theirs):
        assert relative_difference(a, b) <= 1e-10


def test_lateral_deep_stem_and_align_corners_variant(small):
    net, task, image, _ = small
    hp = task.hparams
    assert hp.lateral and hp.align_corners and hp.aux_channels == 48
    assert hp.backbone["stem_width"] == 64 and hp.backbone["width"] == 0.25
    theirs = ref.reference_outputs(net.double(), image)
    ours = our_outputs(task.double(), image)
    assert max(relative_difference(ours[key], theirs[key]) for key in ("out", "se", "aux")) <= 1e-10


def test_converted_checkpoint_records_architecture_and_provenance(pair):
    net, task, _, src = pair
    checkpoint = torch.load(src.with_name("encnet.ckpt"), map_location="cpu", weights_only=True)
    provenance = checkpoint["provenance"]
    assert provenance["source"] == "mmseg" and provenance["source_file"] == str(src)
    assert len(provenance["sha256"]) == 64 and provenance["reinitialised"] == []
    depth = net.backbone.depth
    assert provenance["architecture"]["backbone"] == f"ResNet-{depth}, deep stem 32-32-64, output stride 8"
    hp = task.hparams
    assert (hp.num_classes, hp.head_channels, hp.num_codes, hp.cem, hp.aux_channels) == (7, 512, 32, "released", 256)
    assert hp.backbone["depth"] == depth and hp.stage3_se is False and hp.se_loss_weight == 0.2
    assert task.net.stage3 is None and task.net.lateral is None


@pytest.mark.parametrize("config,name", [("pspnet_r50-d8", "PSPNet"), ("deeplabv3_r50-d8", "DeepLab"),
                                         ("fcn_r50-d8", "without an Encoding layer")])
def test_other_architectures_are_named(tmp_path, config, name):
    state = {k: torch.zeros(1) for k in ref.build(ref.model_config(config)).state_dict()}
    torch.save({"state_dict": state}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match=f"not an EncNet: it looks like .*{name}"):
        convert(str(tmp_path / "other.pth"), tmp_path / "x.ckpt", "mmseg")


def test_bad_checkpoints_give_one_clear_error(small, tmp_path, capsys):
    _, _, _, src = small
    state = torch.load(src, map_location="cpu", weights_only=True)["state_dict"]

    def run(mutated: dict, *flags: str) -> str:
        torch.save({"state_dict": mutated}, tmp_path / "bad.pth")
        with pytest.raises(SystemExit) as exit_info:
            main([str(tmp_path / "bad.pth"), str(tmp_path / "bad.ckpt"), *flags])
        assert exit_info.value.code == 2
        return capsys.readouterr().err

    missing = {k: v for k, v in state.items() if k != "decode_head.enc_module.fc.0.bias"}
    assert "missing 1: decode_head.enc_module.fc.0.bias" in run(missing, "--source", "mmseg")
    extra = state | {"decode_head.extra.weight": torch.zeros(3)}
    assert "unexpected 1: decode_head.extra.weight" in run(extra, "--source", "mmseg")
    bent = state | {"decode_head.se_layer.weight": torch.zeros(8, 64)}
    assert ("decode_head.se_layer.weight has shape (8, 64) but se_head.weight of the implied EncNet needs (7, 64)"
            in run(bent, "--source", "mmseg"))
    assert "pass --source mmseg" in run(state, "--source", "pytorch-encoding")
    with pytest.raises(SystemExit):
        main([str(tmp_path / "nope.pth"), str(tmp_path / "x.ckpt"), "--source", "mmseg"])
    assert "nope.pth: no such checkpoint file" in capsys.readouterr().err


def test_num_classes_starts_the_class_layers_fresh(small, tmp_path):
    net, task, _, src = small
    provenance = convert(str(src), tmp_path / "three.ckpt", "mmseg", num_classes=3)
    assert provenance["reinitialised"] == ["classifier.1", "se_head", "aux_head.classifier.1"]
    three = SegmentationTask.load_from_checkpoint(tmp_path / "three.ckpt", map_location="cpu")
    assert three.net.classifier[1].weight.shape == (3, 64, 1, 1) and three.net.se_head.weight.shape == (3, 64)
    torch.testing.assert_close(three.net.cem.fc[0].weight, task.net.cem.fc[0].weight.float())


def test_converted_mmseg_checkpoint_runs_through_encnet_eval(tmp_path, compose_eval):
    """150-class conversion → ``encnet-eval protocol=mmseg_ade20k`` on the ADE20K fixture tree."""
    generator = torch.Generator().manual_seed(0)
    net = ref.build(small_config(num_classes=150))
    ref.randomise_(net, generator)
    src = ref.save_checkpoint(net, tmp_path / "encnet_r50-d8_ade20k.pth")
    convert(str(src), tmp_path / "ade.ckpt", "mmseg")
    cfg = compose_eval("data=ade20k", f"data.root={make_ade20k(tmp_path / 'ADEChallengeData2016')}",
                       f"ckpt_path={tmp_path / 'ade.ckpt'}", "protocol=mmseg_ade20k", "eval.base_size=40",
                       "eval.max_size=48", "data.num_workers=0", "print_config=false",
                       "trainer.enable_progress_bar=false", tiny=False)
    assert (cfg.eval.mode, cfg.eval.max_size, cfg.eval.scales) == ("whole", 48, [1.0])
    record = evaluate(cfg)
    assert record["eval"]["max_size"] == 48
    assert_eval_outputs(record, tmp_path / "run", cfg.data)
