"""The README's walk-through for one's own data, run line by line as it stands: fixture folder →
encnet-check-data → encnet-train → encnet-eval → encnet-predict, with the folder's class names in every
result."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from encnet.visualize import colour_table, overlay

from .fixtures.folder import CLASSES, COLOURS, SAMPLES

REPO = Path(__file__).resolve().parents[1]


def walkthrough_commands() -> list[str]:
    """The shell commands of the README block after ``<!-- walkthrough -->``, continuation lines joined."""
    readme = (REPO / "README.md").read_text()
    block = re.search(r"<!-- walkthrough -->\n```bash\n(.*?)```", readme, re.S).group(1)
    return [line.strip() for line in block.replace("\\\n", " ").splitlines() if line.strip()]


@pytest.mark.slow
def test_readme_walkthrough_from_a_folder_to_named_predictions(tmp_path):
    commands = walkthrough_commands()
    assert [c.split()[0] for c in commands] == ["python", "encnet-check-data", "encnet-train", "encnet-eval",
                                                "encnet-predict"]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(REPO), "NO_ALBUMENTATIONS_UPDATE": "1", "OMP_NUM_THREADS": "1"}
    for command in commands:
        proc = subprocess.run(command, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, f"{command}\n{proc.stderr[-3000:]}"

    check = json.loads(next((tmp_path / "logs" / "check_data").glob("runs/*/data_check.json")).read_text())
    assert check["bad_files"] == [] and check["classes"] == list(CLASSES)
    assert check["splits"]["train"]["read"] == len(SAMPLES["train"])
    assert len(list((tmp_path / "my_data_samples").glob("sample_*.png"))) == 4

    trained = json.loads((tmp_path / "logs/my_data/train/metrics.json").read_text())
    assert {f"val/IoU/{name}" for name in CLASSES} <= trained.keys()
    assert trained["config"]["data"]["num_classes"] == len(CLASSES)
    evaluated = json.loads((tmp_path / "logs/my_data/eval/metrics.json").read_text())
    assert {f"test/IoU/{name}" for name in CLASSES} <= evaluated.keys()
    header = (tmp_path / "logs/my_data/eval/confusion_matrix.csv").read_text().splitlines()[0]
    assert header == "# " + ",".join(CLASSES)

    colours = colour_table(COLOURS)
    for name, size, _, suffix in SAMPLES["val"]:
        label = np.asarray(Image.open(tmp_path / "my_predictions" / f"{name}.png"))
        assert label.shape == size
        shown = np.asarray(Image.open(tmp_path / "my_predictions" / f"{name}_overlay.jpg")).astype(float)
        photo = np.asarray(Image.open(tmp_path / "my_data/images/val" / f"{name}{suffix}").convert("RGB"))
        # the overlay is the one drawn with the folder's names and colours (JPEG-close), not with default ones
        named = np.asarray(overlay(photo, label, colours, CLASSES)).astype(float)
        unnamed = np.asarray(overlay(photo, label, colours, [f"class_{k}" for k in range(4)])).astype(float)
        assert shown.shape == named.shape and np.abs(shown - named)[:, size[1]:].mean() < 3  # legend: JPEG-close
        assert unnamed.shape != shown.shape  # default names would draw another legend
