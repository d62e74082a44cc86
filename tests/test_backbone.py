"""Dilated ResNet backbone: strides, depths, deep stem, loading torchvision-layout weights."""

from __future__ import annotations

import pytest
import torch

from encnet.models import ResNet, load_pretrained


@pytest.mark.parametrize("output_stride,strides", [(8, (4, 8, 8, 8)), (16, (4, 8, 16, 16)), (32, (4, 8, 16, 32))])
@pytest.mark.parametrize("depth", [18, 50])
def test_output_strides(depth, output_stride, strides):
    net = ResNet(depth, output_stride=output_stride, width=0.125).eval()
    with torch.no_grad():
        feats = net(torch.randn(1, 3, 64, 64))
    assert [64 // f.shape[-1] for f in feats] == list(strides)
    assert [f.shape[1] for f in feats] == net.stage_channels


def test_dilations_follow_the_paper():
    net = ResNet(50, output_stride=8, width=0.125)
    assert net.layer3[0].conv2.dilation == (1, 1) and net.layer3[1].conv2.dilation == (2, 2)
    assert net.layer4[0].conv2.dilation == (2, 2) and net.layer4[1].conv2.dilation == (4, 4)
    assert net.layer3[0].conv2.stride == (1, 1) and net.layer4[0].conv2.stride == (1, 1)


@pytest.mark.parametrize("depth,blocks", [(18, 8), (34, 16), (50, 16), (101, 33), (152, 50)])
def test_depths(depth, blocks):
    net = ResNet(depth, width=0.125)
    assert sum(len(getattr(net, f"layer{i}")) for i in range(1, 5)) == blocks


def test_full_width_resnet50_matches_torchvision_size():
    net = ResNet(50)
    assert sum(p.numel() for p in net.parameters()) == 23_508_032  # torchvision resnet50 minus its fc layer
    assert net.stage_channels == [256, 512, 1024, 2048]


def test_deep_stem():
    net = ResNet(18, deep_stem=True, width=0.25).eval()
    assert isinstance(net.conv1, torch.nn.Sequential)
    assert net(torch.randn(1, 3, 32, 32))[-1].shape[-1] == 4


def test_loads_torchvision_layout_state_dict(tmp_path):
    src = ResNet(18, width=0.25)
    state = {f"module.{k}": v for k, v in src.state_dict().items()}
    state["module.fc.weight"] = torch.zeros(1000, 128)  # torchvision's classifier: unexpected, ignored
    path = tmp_path / "resnet18.pth"
    torch.save({"state_dict": state}, path)
    net = ResNet(18, width=0.25, pretrained=str(path))
    assert not torch.equal(net.conv1.weight, src.conv1.weight)  # construction reads nothing
    net.load_pretrained_weights()
    torch.testing.assert_close(net.conv1.weight, src.conv1.weight)
    missing, unexpected = load_pretrained(ResNet(18, width=0.25), str(path))
    assert missing == [] and unexpected == ["fc.weight"]


def test_construction_never_reads_pretrained(tmp_path):
    """A checkpoint naming a file (or URL) that is gone rebuilds; loading it on demand names it."""
    for source in (str(tmp_path / "nope.pth"), "https://example.invalid/resnet18.pth"):
        net = ResNet(18, width=0.125, pretrained=source)
        assert net.pretrained == source
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        ResNet(18, width=0.125, pretrained=str(tmp_path / "nope.pth")).load_pretrained_weights()
    ResNet(18, width=0.125).load_pretrained_weights()  # pretrained=None: nothing to load


def test_pretrained_errors(tmp_path):
    path = tmp_path / "r18.pth"
    torch.save(ResNet(18, width=0.25).state_dict(), path)
    with pytest.raises(ValueError, match="do not fit"):
        ResNet(18, width=0.5, pretrained=str(path)).load_pretrained_weights()
    torch.save({"foo": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match="no key matches"):
        ResNet(18, width=0.25, pretrained=str(path)).load_pretrained_weights()


def test_bad_backbone_arguments():
    with pytest.raises(ValueError, match="depth"):
        ResNet(42)
    with pytest.raises(ValueError, match="output_stride"):
        ResNet(18, output_stride=4)


def test_deep_stem_width():
    net = ResNet(50, deep_stem=True, stem_width=64, width=0.25)  # PyTorch-Encoding's resnet50s stem: 64-64-128
    assert [net.conv1[i].out_channels for i in (0, 3, 6)] == [64, 64, 128] and net.bn1.num_features == 128
    assert net.layer1[0].conv1.in_channels == 128 and net.layer1[0].downsample[0].in_channels == 128
    default = ResNet(18, deep_stem=True)  # open-mmlab's ResNetV1c stem: 32-32-64
    assert [default.conv1[i].out_channels for i in (0, 3, 6)] == [32, 32, 64] and default.bn1.num_features == 64
    with pytest.raises(ValueError, match="backbone.stem_width=64 needs deep_stem=true"):
        ResNet(50, stem_width=64)


def test_loads_open_mmlab_resnetv1c_layout(tmp_path):
    """``stem.{0,1,3,4,6,7}`` (conv, BN, conv, BN, conv, BN) → ``conv1.{0,1,3,4,6}`` and ``bn1``."""
    src = ResNet(18, deep_stem=True, width=0.25)
    renames = {"conv1.": "stem.", "bn1.": "stem.7."}
    state = {}
    for key, value in src.state_dict().items():
        top = next((new + key[len(old):] for old, new in renames.items() if key.startswith(old)), key)
        state[f"backbone.{top}"] = value
    assert "backbone.stem.7.running_var" in state and "backbone.stem.6.weight" in state
    torch.save({"state_dict": state}, tmp_path / "resnet18_v1c.pth")
    net = ResNet(18, deep_stem=True, width=0.25, pretrained=str(tmp_path / "resnet18_v1c.pth"))
    net.load_pretrained_weights()
    for key, value in src.state_dict().items():
        torch.testing.assert_close(net.state_dict()[key], value)
