"""Prediction on one's own images: ``encnet.predict`` and ``encnet-predict`` on real image files of odd sizes
and modes, with unreadable files among them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import encnet
from encnet.cli import predict as predict_app
from encnet.data.context_scenes import CLASSES
from encnet.data.images import read_rgb
from encnet.data.transforms import eval_transform
from encnet.data.visualize import palette
from encnet.inference import MultiScaleInference
from encnet.inference.files import PredictionError
from encnet.tasks.loading import load_task

# name → (height, width) of the readable inputs
GOOD = {"photo": (37, 53), "grey": (61, 29), "rgba": (40, 41), "deep16": (33, 47), "palette": (30, 70)}
BAD = ("notes.txt", "truncated.png")


def write_inputs(folder: Path) -> Path:
    """A folder of JPEG RGB, 8-bit grey, RGBA, 16-bit grey and palette PNGs, a text file, a truncated PNG."""
    rng = np.random.default_rng(0)
    folder.mkdir()
    Image.fromarray(rng.integers(0, 256, (*GOOD["photo"], 3), dtype=np.uint8)).save(folder / "photo.jpg")
    Image.fromarray(rng.integers(0, 256, GOOD["grey"], dtype=np.uint8)).save(folder / "grey.png")
    Image.fromarray(rng.integers(0, 256, (*GOOD["rgba"], 4), dtype=np.uint8)).save(folder / "rgba.png")
    Image.fromarray(rng.integers(0, 65536, GOOD["deep16"], dtype=np.uint16)).save(folder / "deep16.png")
    Image.fromarray(rng.integers(0, 256, (*GOOD["palette"], 3), dtype=np.uint8)).convert("P").save(
        folder / "palette.png")
    (folder / "notes.txt").write_text("not an image\n")
    (folder / "truncated.png").write_bytes((folder / "grey.png").read_bytes()[:80])
    return folder


def test_run_writes_every_good_image_and_names_the_bad_ones(compose_app, tiny_checkpoint, tmp_path):
    inputs = write_inputs(tmp_path / "in")
    out = tmp_path / "out"
    cfg = compose_app("predict", f"ckpt_path={tiny_checkpoint}", f"input={inputs}", f"output_dir={out}",
                      "eval.flip=true", "eval.scales=[0.75,1.0]", "progress=false")
    with pytest.raises(PredictionError) as raised:
        predict_app.run(cfg)
    for name in BAD:
        assert name in str(raised.value)
    assert "2 input(s) could not be segmented" in str(raised.value)
    colours = palette(256)
    for stem, size in GOOD.items():
        label = Image.open(out / f"{stem}.png")
        assert label.mode == "P" and label.size == size[::-1], stem
        assert np.asarray(label).max() < len(CLASSES)
        stored = np.asarray(label.getpalette()[: 3 * len(CLASSES)]).reshape(-1, 3)
        assert np.array_equal(stored, colours[: len(CLASSES)])
        overlay = Image.open(out / f"{stem}_overlay.jpg")
        assert overlay.width > size[1] and overlay.height >= size[0]  # photo + legend beside it
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{s}{suffix}" for s in GOOD for suffix in (".png", "_overlay.jpg"))


def test_cli_exit_status_names_the_bad_files(tiny_checkpoint, tmp_path):
    inputs = write_inputs(tmp_path / "in")
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "ENCNET_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "encnet.cli.predict", f"ckpt_path={tiny_checkpoint}",
                           f"input={inputs}", f"output_dir={tmp_path / 'out'}", "progress=false",
                           f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 1
    assert all(name in proc.stderr for name in BAD), proc.stderr[-2000:]
    assert len(list((tmp_path / "out").glob("*_overlay.jpg"))) == len(GOOD)


def test_api_matches_the_inference_it_is_given_and_does_not_overwrite(tiny_checkpoint, tmp_path):
    inputs = write_inputs(tmp_path / "in")
    task = load_task(str(tiny_checkpoint))
    inference = MultiScaleInference(scales=[1.0, 1.5], flip=True, mode="slide", base_size=48, crop_size=32)
    out = tmp_path / "out"
    with pytest.raises(PredictionError, match="truncated.png") as caught:
        encnet.predict(task, inputs, out, inference=inference, progress=False)
    assert set(caught.value.failures) == {inputs / name for name in BAD}

    image = read_rgb(inputs / "photo.jpg")
    with torch.no_grad():
        expected = inference(task, eval_transform(None)(image=image)["image"][None]).argmax(1)[0].numpy()
    np.testing.assert_array_equal(np.asarray(Image.open(out / "photo.png")), expected)

    before = (out / "photo.png").stat().st_mtime_ns
    with pytest.raises(FileExistsError, match="overwrite=true"):
        encnet.predict(task, str(inputs / "*.jpg"), out, progress=False)
    assert (out / "photo.png").stat().st_mtime_ns == before
    written = encnet.predict(str(tiny_checkpoint), str(inputs / "*.jpg"), out, overwrite=True, progress=False)
    assert written == [out / "photo.png"]


def test_image_modes_become_8_bit_rgb(tmp_path):
    deep = np.array([[0, 257 * 100, 65535]], dtype=np.uint16)
    Image.fromarray(deep).save(tmp_path / "deep.png")
    np.testing.assert_array_equal(read_rgb(tmp_path / "deep.png")[0], [[0] * 3, [100] * 3, [255] * 3])
    Image.fromarray(np.full((2, 3, 4), 200, np.uint8)).save(tmp_path / "rgba.png")
    assert read_rgb(tmp_path / "rgba.png").shape == (2, 3, 3)


def test_missing_input_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        encnet.predict(torch.nn.Identity(), tmp_path / "nothing_here", tmp_path / "out")
