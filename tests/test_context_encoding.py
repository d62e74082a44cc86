"""Context Encoding Module and SE-loss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from encnet.nn import ContextEncoder, ContextEncodingModule, SELoss, class_presence


@pytest.mark.parametrize("num_codes", [0, 1, 8])
@pytest.mark.parametrize("aggregate", ["sum", "mean"])
def test_cem_shapes(num_codes, aggregate):
    cem = ContextEncodingModule(16, num_codes, aggregate=aggregate)
    x = torch.randn(3, 16, 5, 6)
    y, e = cem(x)
    assert y.shape == x.shape and e.shape == (3, 16)


def test_cem_scales_channels_by_gamma():
    """Y = X ⊗ γ with γ ∈ (0, 1) per image and channel (paper default), relu(X + X γ) for residual=True."""
    torch.manual_seed(0)
    cem = ContextEncodingModule(8, 4).eval()
    x = torch.randn(2, 8, 4, 4)
    y, e = cem(x)
    gamma = y / x
    assert torch.allclose(gamma, gamma[:, :, :1, :1].expand_as(gamma), atol=1e-5)
    assert (gamma > 0).all() and (gamma < 1).all()
    torch.testing.assert_close(gamma[:, :, 0, 0], cem.fc(e))
    cem.residual = True
    y2, _ = cem(x)
    torch.testing.assert_close(y2, F.relu(x + x * cem.fc(e)[:, :, None, None]))


def test_zero_codes_is_global_average_pooling():
    enc = ContextEncoder(8, 0, pre_conv=False)
    x = torch.randn(2, 8, 3, 5)
    torch.testing.assert_close(enc(x), x.mean(dim=(2, 3)))


def test_sum_is_k_times_mean():
    torch.manual_seed(0)
    a = ContextEncoder(8, 4, aggregate="sum").eval()
    b = ContextEncoder(8, 4, aggregate="mean").eval()
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 8, 3, 3)
    torch.testing.assert_close(a(x), 4 * b(x))


def test_bad_cem_options():
    with pytest.raises(ValueError, match="aggregate"):
        ContextEncoder(8, 4, aggregate="max")
    with pytest.raises(ValueError, match="num_codes"):
        ContextEncoder(8, -1)


def test_class_presence_excludes_ignore():
    mask = torch.tensor([[[0, 0, 255], [2, 2, 255]], [[255, 255, 255], [255, 255, 255]], [[3, 1, 1], [1, 1, 1]]])
    presence = class_presence(mask, num_classes=4)
    expected = torch.tensor([[1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 0, 1]], dtype=torch.float32)
    torch.testing.assert_close(presence, expected)


def test_class_presence_rejects_out_of_range_labels():
    with pytest.raises(ValueError, match="label 7"):
        class_presence(torch.tensor([[[0, 7]]]), num_classes=4)


def test_se_loss_is_bce_on_presence():
    logits = torch.randn(2, 3)
    mask = torch.tensor([[[0, 255]], [[2, 2]]])
    target = torch.tensor([[1.0, 0, 0], [0, 0, 1]])
    torch.testing.assert_close(SELoss(3)(logits, mask), F.binary_cross_entropy_with_logits(logits, target))
