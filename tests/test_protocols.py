"""Evaluation protocols of the published figures (conf/protocol/): image sizes and windows they produce."""

from __future__ import annotations

import pytest
from hydra.utils import instantiate

from encnet.inference import window_starts


def protocol(compose_eval, name: str, data: str):
    cfg = compose_eval("ckpt_path=x.ckpt", f"data={data}", "data.root=/data", f"protocol={name}", tiny=False)
    return instantiate(cfg.eval)


def test_default_is_no_protocol(compose_eval):
    cfg = compose_eval("ckpt_path=x.ckpt", tiny=False)
    assert (cfg.eval.resize_side, cfg.eval.max_size, cfg.eval.align_corners) == ("short", None, False)


def test_mmseg_ade20k_fits_into_2048x512_whole_image(compose_eval):
    inference = protocol(compose_eval, "mmseg_ade20k", "ade20k")
    assert (inference.mode, inference.scales, inference.flip) == ("whole", [1.0], False)
    assert inference.resized_size(480, 640, 1.0) == (512, 683)     # short side → 512
    assert inference.resized_size(256, 1536, 1.0) == (341, 2048)    # a panorama: the long side binds at 2048


def test_mmseg_cityscapes_keeps_2048x1024_whole_image(compose_eval):
    inference = protocol(compose_eval, "mmseg_cityscapes", "cityscapes")
    assert inference.mode == "whole" and inference.resized_size(1024, 2048, 1.0) == (1024, 2048)


def test_mmseg_cityscapes_slide_windows(compose_eval):
    inference = protocol(compose_eval, "mmseg_cityscapes_slide", "cityscapes")
    assert (inference.mode, inference.crop_size, inference.stride) == ("slide", 769, 513)
    assert inference.resized_size(1024, 2048, 1.0) == (1024, 2048)
    # mmseg's grid for 1024×2048: rows 0, 255; columns 0, 513, 1026, 1279 (the last window flush)
    assert window_starts(1024, 769, 513) == [0, 255] and window_starts(2048, 769, 513) == [0, 513, 1026, 1279]


@pytest.mark.parametrize("data", ["ade20k", "pcontext"])
def test_pytorch_encoding_multi_size(compose_eval, data):
    inference = protocol(compose_eval, "pytorch_encoding", data)
    assert inference.scales == [0.5, 0.75, 1.0, 1.25, 1.5, 1.75] and inference.flip and inference.align_corners
    assert (inference.mode, inference.crop_size, inference.stride) == ("slide", 480, 320)
    assert inference.resized_size(375, 500, 1.0) == (390, 520)      # the long side → 520
    assert inference.resized_size(500, 375, 1.5) == (780, 585)      # portrait: the long side is the height
