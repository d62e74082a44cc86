"""Context Encoding Module and SE-loss."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from encnet.nn import ContextEncoder, ContextEncodingModule, SELoss, class_presence


@pytest.mark.parametrize("num_codes", [0, 1, 8])
@pytest.mark.parametrize("form", ["released", "paper"])
def test_cem_shapes(num_codes, form):
    cem = ContextEncodingModule(16, num_codes, form=form)
    x = torch.randn(3, 16, 5, 6)
    y, e = cem(x)
    assert y.shape == x.shape and e.shape == (3, 16)


def test_cem_scales_channels_by_gamma():
    """paper: Y = X ⊗ γ with γ ∈ (0, 1) per image and channel; released: Y = relu(X + X ⊗ γ), same weights."""
    torch.manual_seed(0)
    paper = ContextEncodingModule(8, 4, form="paper").eval()
    x = torch.randn(2, 8, 4, 4)
    y, e = paper(x)
    gamma = y / x
    assert torch.allclose(gamma, gamma[:, :, :1, :1].expand_as(gamma), atol=1e-5)
    assert (gamma > 0).all() and (gamma < 1).all()
    torch.testing.assert_close(gamma[:, :, 0, 0], paper.fc(e))
    released = ContextEncodingModule(8, 4).eval()
    released.load_state_dict(paper.state_dict())
    y2, e2 = released(x)
    torch.testing.assert_close(e2, e / 4)  # mean over the K = 4 codes instead of their sum
    torch.testing.assert_close(y2, F.relu(x + x * released.fc(e2)[:, :, None, None]))


def test_zero_codes_is_global_average_pooling():
    enc = ContextEncoder(8, 0, pre_conv=False)
    x = torch.randn(2, 8, 3, 5)
    torch.testing.assert_close(enc(x), x.mean(dim=(2, 3)))


def test_paper_sum_is_k_times_released_mean():
    torch.manual_seed(0)
    a = ContextEncoder(8, 4, form="paper").eval()
    b = ContextEncoder(8, 4, form="released").eval()
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 8, 3, 3)
    torch.testing.assert_close(a(x), 4 * b(x))


def test_bad_cem_options():
    with pytest.raises(ValueError, match="cem must be one of .*'mean'"):
        ContextEncoder(8, 4, form="mean")
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
