"""``encnet-check-data`` on the folder fixture: exact per-split statistics, every bad file of one run, the
augmented samples it shows."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from hydra.core.global_hydra import GlobalHydra
from PIL import Image

from encnet.cli.check_data import BadDataError, hydra_arguments, main, require_good
from encnet.cli.check_data import run as check

from .conftest import _composer
from .fixtures.folder import CLASSES, SAMPLES, make_folder, sample_mask


@pytest.fixture
def compose_check(tmp_path, cache_dir):
    yield _composer("check_data", tmp_path, cache_dir, [])
    GlobalHydra.instance().clear()


def test_statistics_per_split(compose_check, tmp_path):
    root = make_folder(tmp_path / "mine")
    blank = root / "annotations" / "val" / "meadow.png"
    Image.fromarray(np.full((38, 46), 255, np.uint8)).save(blank)  # no labelled pixel
    report = check(compose_check("data=folder", f"data.root={root}", "workers=0", "progress=false"))
    assert report["classes"] == list(CLASSES) and report["bad_files"] == []
    masks = {split: [sample_mask(i, size) for i, (_, size, _, _) in enumerate(samples, 4 * (split == "val"))]
             for split, samples in SAMPLES.items()}
    masks["val"][1] = np.full((38, 46), 255, np.uint8)
    for split, summary in report["splits"].items():
        labelled = np.concatenate([m[m != 255] for m in masks[split]])
        assert summary["images"] == summary["read"] == len(SAMPLES[split])
        assert summary["height"] == [min(m.shape[0] for m in masks[split]), max(m.shape[0] for m in masks[split])]
        for k, name in enumerate(CLASSES):
            assert summary["classes"][name]["pixel_share"] == pytest.approx((labelled == k).mean())
            assert summary["classes"][name]["images"] == sum(bool((m == k).any()) for m in masks[split])
    assert report["splits"]["val"]["unlabelled_images"] == [str(root / "images" / "val" / "meadow.tif")]
    assert json.loads((tmp_path / "run" / "data_check.json").read_text()) == report


def test_missing_classes_are_named(compose_check, tmp_path):
    root = make_folder(tmp_path / "mine")
    for path in (root / "annotations" / "val").iterdir():
        mask = np.asarray(Image.open(path))
        Image.fromarray(np.where(mask == 3, 0, mask).astype(np.uint8)).save(path)  # no "parked car" in val
    report = check(compose_check("data=folder", f"data.root={root}", "workers=0", "progress=false"))
    assert report["splits"]["val"]["missing_classes"] == ["parked car"]
    assert report["splits"]["train"]["missing_classes"] == []


def test_every_bad_file_is_listed_and_augmented_samples_are_shown(compose_check, tmp_path):
    root = make_folder(tmp_path / "mine")
    Image.fromarray(np.full((40, 56), 9, np.uint8)).save(root / "annotations/train/street.png")  # label 9
    (root / "annotations/val/lane.png").unlink()  # an image without annotation
    truncated = root / "images/train/harbour.png"
    truncated.write_bytes(truncated.read_bytes()[:60])  # unreadable
    shown = tmp_path / "shown"
    cfg = compose_check("data=folder", f"data.root={root}", "data.crop_size=32", "workers=2", "progress=false",
                        *hydra_arguments(["--show", "3", str(shown)]))
    report = check(cfg)
    with pytest.raises(BadDataError) as info:
        require_good(report, cfg.json)
    lines = str(info.value).splitlines()
    assert lines[0] == f"3 bad file(s) (report in {cfg.json}):" and len(lines) == 4
    for path, words in ((root / "annotations/train/street.png", "has label 9"),
                        (root / "annotations/val/lane.png", "has no annotation"), (truncated, "cannot read")):
        line = next(line for line in lines if str(path) in line)
        assert words in line, line
    assert "data.reduce_zero_label=false" in str(info.value)
    assert json.loads((tmp_path / "run" / "data_check.json").read_text())["bad_files"] == report["bad_files"]
    assert report["splits"]["train"]["read"] == 2
    pictures = sorted(shown.iterdir())
    assert [p.name for p in pictures] == ["sample_000_field.png", "sample_001_park.png", "sample_002_field.png"]
    for picture in pictures:  # augmented crop (32×32) | the same crop with its mask blended in, and a legend
        array = np.asarray(Image.open(picture))
        assert array.shape[0] >= 32 and array.shape[1] > 2 * 32 + 4
        assert not np.array_equal(array[:32, :32], array[:32, 36:68])  # the mask colours are blended in


def test_show_option_becomes_overrides():
    assert hydra_arguments(["data=folder", "--show", "8", "out/", "workers=0"]) == [
        "data=folder", "show=8", "show_dir=out/", "workers=0"]
    with pytest.raises(SystemExit, match="--show takes a count and a directory"):
        hydra_arguments(["--show", "8"])


def test_console_script_exits_1_on_a_bad_file(tmp_path, monkeypatch, capsys):
    root = make_folder(tmp_path / "mine")
    (root / "annotations/train/park.png").unlink()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["encnet-check-data", "data=folder", f"data.root={root}", "workers=0",
                                      "progress=false", f"hydra.run.dir={tmp_path}/run"])
    GlobalHydra.instance().clear()
    with pytest.raises(SystemExit) as info:
        main()
    GlobalHydra.instance().clear()
    assert info.value.code == 1
    assert f"image {root / 'images/train/park.png'} has no annotation" in capsys.readouterr().err
