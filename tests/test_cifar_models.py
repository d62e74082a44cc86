"""CIFAR networks: gate and block shapes, shakeout (train vs eval s_k), parameter counts of Table 6."""

from __future__ import annotations

import pytest
import torch
from hydra.utils import instantiate

from encnet.models.cifar import CifarResNet, EncodingGate, PreActBlock, SqueezeExcitation, make_gate

# paper Table 6: parameters (millions) of each experiment's network
TABLE6 = {"cifar_resnet_64d": 2.7, "cifar_seresnet_64d": 2.8, "cifar_encnet_16k64d": 3.5, "cifar_encnet_32k128d": 16.8}


@pytest.mark.parametrize("gate", [SqueezeExcitation(32, 16), EncodingGate(32, num_codes=8, shakeout=True)])
def test_gates_rescale_channels_in_0_1(gate):
    x = torch.randn(3, 32, 8, 8).abs() + 0.1
    y = gate(x)
    assert y.shape == x.shape
    ratio = (y / x)[:, :, 0, 0]  # one scale per (image, channel), same at every position
    assert torch.allclose(y / x, ratio[:, :, None, None].expand_as(x), atol=1e-5)
    assert (ratio > 0).all() and (ratio < 1).all() and ratio.std() > 0


def test_encoding_gate_is_the_papers_layout():
    gate = EncodingGate(64, num_codes=16, reduction=4)
    assert gate.reduce[0].out_channels == 16 and gate.encoding.num_codes == 16 and gate.encoding.channels == 16
    assert gate.fc[0].in_features == 16 * 16 and gate.fc[0].out_features == 64  # K·C/4 → C
    x = torch.randn(2, 64, 4, 4)
    encoded = gate.encoding(gate.reduce(x)).flatten(1)
    gamma = gate.fc(torch.nn.functional.normalize(encoded, dim=1))
    assert torch.allclose(gate(x), x * gamma[:, :, None, None])


@pytest.mark.parametrize("block", ["basic", "se", "encoding"])
@pytest.mark.parametrize("in_c, out_c, stride", [(16, 16, 1), (16, 32, 2)])
def test_block_shapes_and_identity_path(block, in_c, out_c, stride):
    unit = PreActBlock(in_c, out_c, stride, make_gate(block, out_c, 16, 4, 4, shakeout=False)).eval()
    x = torch.randn(2, in_c, 16, 16)
    assert unit(x).shape == (2, out_c, 16 // stride, 16 // stride)
    if stride == 1:  # identity path untouched: a zero residual branch gives y = x
        torch.nn.init.zeros_(unit.residual[-1].weight)
        assert torch.equal(unit(x), x)


def test_network_output_and_unknown_block():
    net = CifarResNet(num_classes=10, width=8, block="encoding", num_codes=4)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ValueError, match="block must be one of"):
        CifarResNet(block="bottleneck")


def test_shakeout_train_vs_eval():
    net = CifarResNet(width=8, block="encoding", num_codes=4, shakeout=True)
    encodings = [m.encoding for m in net.modules() if isinstance(m, EncodingGate)]
    assert len(encodings) == 6 and all(e.shakeout and not e.scale.requires_grad for e in encodings)
    x = torch.randn(4, 3, 32, 32)
    net.train()
    draws = [encodings[0].smoothing_factors() for _ in range(2)]
    assert not torch.equal(*draws) and all(((d > 0) & (d < 1)).all() for d in draws)
    assert not torch.allclose(net(x), net(x))  # a new s_k draw every forward
    net.eval()
    assert torch.equal(encodings[0].smoothing_factors(), torch.full((4,), 0.5))
    assert torch.equal(net(x), net(x))
    plain = CifarResNet(width=8, block="encoding", num_codes=4, shakeout=False).train()
    assert torch.allclose(plain(x), plain(x)) and plain.blocks[0].gate.encoding.scale.requires_grad


@pytest.mark.parametrize("experiment", sorted(TABLE6))
def test_parameter_counts_match_table6(compose_train, experiment):
    cfg = compose_train(f"experiment={experiment}", tiny=False)
    task = instantiate(cfg.model)
    count = sum(p.numel() for p in task.net.parameters())
    assert abs(count / (TABLE6[experiment] * 1e6) - 1) < 0.03, count
