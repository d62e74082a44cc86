"""Multi-scale, flipped, sliding-window inference against whole-image passes and window bookkeeping."""

from __future__ import annotations

import pytest
import torch

from encnet.inference import MultiScaleInference, window_starts


def pointwise_net(images: torch.Tensor) -> torch.Tensor:
    """A per-pixel 'network' (logits = a fixed linear map of the pixel): windows cannot change its output."""
    weight = torch.tensor([[1.0, -2.0, 0.5], [0.0, 1.0, 1.0], [-1.0, 0.5, 2.0], [0.3, 0.3, 0.3]])
    return torch.einsum("kc,bchw->bkhw", weight, images)


class Recorder:
    """Wraps a net and records the shape of every batch it sees."""

    def __init__(self, net=pointwise_net):
        self.net, self.shapes = net, []

    def __call__(self, images):
        self.shapes.append(tuple(images.shape))
        return self.net(images)


@pytest.mark.parametrize("size,crop,stride,expected", [
    (4, 4, 3, [0]), (10, 4, 3, [0, 3, 6]), (11, 4, 3, [0, 3, 6, 7]), (480, 480, 320, [0]), (700, 480, 320, [0, 220]),
])
def test_window_starts_cover_the_axis(size, crop, stride, expected):
    starts = window_starts(size, crop, stride)
    assert starts == expected
    covered = torch.zeros(size, dtype=torch.bool)
    for s in starts:
        covered[s : s + crop] = True
    assert covered.all()


@pytest.mark.parametrize("shape", [(1, 3, 23, 37), (1, 3, 5, 7), (1, 3, 16, 16)])
def test_sliding_window_equals_whole_image_for_a_pointwise_net(shape):
    image = torch.randn(*shape, generator=torch.Generator().manual_seed(0))
    whole = MultiScaleInference(mode="whole", base_size=None)(pointwise_net, image)
    slide = MultiScaleInference(mode="slide", base_size=None, crop_size=8)(pointwise_net, image)
    torch.testing.assert_close(slide, whole)
    torch.testing.assert_close(whole, pointwise_net(image).softmax(1))


def test_windows_are_crop_sized_and_counted():
    recorder = Recorder()
    image = torch.randn(1, 3, 20, 30)
    MultiScaleInference(mode="slide", base_size=None, crop_size=12, stride_ratio=2 / 3, window_batch=100)(
        recorder, image)
    # stride ceil(12·2/3) = 8: rows 0, 8 (20−12 = 8) → 2; columns 0, 8, 16, 18 → 4
    assert recorder.shapes == [(8, 3, 12, 12)]
    recorder.shapes.clear()
    MultiScaleInference(mode="slide", base_size=None, crop_size=12, window_batch=3)(recorder, image)
    assert [s[0] for s in recorder.shapes] == [3, 3, 2]


def test_overlapping_windows_are_averaged():
    """A net whose output depends on the window (its mean) — overlap pixels get the mean of their windows."""
    def window_net(images):
        level = images.mean(dim=(1, 2, 3), keepdim=True)  # one value per window
        return torch.cat([level, -level], 1).expand(-1, -1, *images.shape[-2:])

    image = torch.zeros(1, 3, 8, 12)
    image[..., 6:] = 1.0  # right half bright
    probs = MultiScaleInference(mode="slide", base_size=None, crop_size=8, stride_ratio=0.5)(window_net, image)
    # windows at x = 0 (mean 0.25) and x = 4 (mean 0.75); columns 4..7 are covered by both
    def p(m):  # softmax([m, −m])[0]
        return torch.sigmoid(torch.tensor(2 * m))
    torch.testing.assert_close(probs[0, 0, 0, 0], p(0.25))
    torch.testing.assert_close(probs[0, 0, 0, 5], (p(0.25) + p(0.75)) / 2)
    torch.testing.assert_close(probs[0, 0, 0, 10], p(0.75))


def test_scales_resize_the_short_side_and_return_original_resolution():
    recorder = Recorder()
    image = torch.randn(1, 3, 20, 30)
    out = MultiScaleInference(scales=[0.5, 1.0, 1.5], mode="whole", base_size=10)(recorder, image)
    assert recorder.shapes == [(1, 3, 5, 8), (1, 3, 10, 15), (1, 3, 15, 23)]  # 22.5 rounds half up
    assert out.shape == (1, 4, 20, 30)
    torch.testing.assert_close(out.sum(1), torch.full((1, 20, 30), 3.0))  # 3 scales of probabilities


def test_flip_sums_the_mirrored_prediction():
    image = torch.randn(1, 3, 9, 13)
    single = MultiScaleInference(mode="whole", base_size=None)(pointwise_net, image)
    flipped = MultiScaleInference(mode="whole", base_size=None, flip=True)(pointwise_net, image)
    torch.testing.assert_close(flipped, 2 * single)  # a pointwise net is flip-equivariant

    def left_biased(images):  # class 0 on the left half of what it sees
        logits = torch.zeros(images.shape[0], 2, *images.shape[-2:])
        logits[:, 0, :, : images.shape[-1] // 2] = 10.0
        return logits

    both = MultiScaleInference(mode="whole", base_size=None, flip=True)(left_biased, torch.zeros(1, 3, 4, 8))
    # unflipped: class 0 ≈ 1 on the left, 0.5 on the right; the flip mirrors that → 1.5 on every column
    torch.testing.assert_close(both[0, 0, 0], torch.full((8,), 1.5), atol=1e-3, rtol=0)


def test_small_image_is_padded_black():
    seen = []

    def net(images):
        seen.append(images.clone())
        return pointwise_net(images)

    inference = MultiScaleInference(mode="slide", base_size=None, crop_size=8)
    out = inference(net, torch.zeros(1, 3, 5, 6))
    assert out.shape == (1, 4, 5, 6) and seen[0].shape == (1, 3, 8, 8)
    black = torch.tensor(inference.pad_value)
    torch.testing.assert_close(seen[0][0, :, 7, 7], black)
    assert (seen[0][0, :, :5, :6] == 0).all()


@pytest.mark.parametrize("kwargs,match", [
    ({"scales": []}, "eval.scales"), ({"scales": [1.0, -0.5]}, "eval.scales"), ({"mode": "tiles"}, "eval.mode"),
    ({"stride_ratio": 0}, "stride_ratio"),
])
def test_bad_settings_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiScaleInference(**kwargs)


@pytest.mark.parametrize("options,expected", [
    ({"base_size": 12}, (12, 18)),                                   # short side (the default)
    ({"base_size": 12, "resize_side": "long"}, (8, 12)),             # PyTorch-Encoding: long side
    ({"base_size": 10, "max_size": 12}, (8, 12)),                    # mmseg: fit into 12×10
    ({"base_size": 10, "max_size": 40}, (10, 15)),                   # ... where the short side binds
    ({"base_size": None, "resize_side": "long"}, (20, 30)),          # original size at scale 1
])
def test_resize_side_and_max_size(options, expected):
    inference = MultiScaleInference(**options)
    assert inference.resized_size(20, 30, 1.0) == expected
    scaled = inference.resized_size(20, 30, 0.5)
    assert scaled == (round(expected[0] / 2 + 1e-9), round(expected[1] / 2 + 1e-9))  # scale applies to both bounds
    recorder = Recorder()
    out = MultiScaleInference(mode="whole", **options)(recorder, torch.randn(1, 3, 20, 30))
    assert recorder.shapes == [(1, 3, *expected)] and out.shape == (1, 4, 20, 30)


def test_bad_resize_options():
    with pytest.raises(ValueError, match="eval.resize_side must be one of"):
        MultiScaleInference(resize_side="width")
    with pytest.raises(ValueError, match="eval.max_size must be ≥ 1 or null, got 0"):
        MultiScaleInference(max_size=0)
