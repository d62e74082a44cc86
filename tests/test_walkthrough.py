"""The README's walk-through for one's own data, run line by line as it stands (each line through its
console script's entry point): fixture folder → encnet-check-data → encnet-train → encnet-eval →
encnet-predict, with the folder's class names in every result."""

from __future__ import annotations

import json
import re
import runpy
import shlex
import sys
from importlib.metadata import entry_points
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pytest
from hydra.core.global_hydra import GlobalHydra
from PIL import Image

from encnet.data.visualize import colour_table, overlay

from .fixtures.folder import CLASSES, COLOURS, SAMPLES

REPO = Path(__file__).resolve().parents[1]


def walkthrough_commands() -> list[str]:
    """The shell commands of the README block after ``<!-- walkthrough -->``, continuation lines joined."""
    readme = (REPO / "docs" / "own_data.md").read_text()
    block = re.search(r"<!-- walkthrough -->\n```bash\n(.*?)```", readme, re.S).group(1)
    return [line.strip() for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def run_line(command: str) -> None:
    """Run one README line in this process as its console script would (the entry point pyproject.toml gives
    it, with the line's arguments as ``sys.argv``), or ``python -m <module>`` as the module's ``__main__``:
    the same code as the shell, without a fresh interpreter importing torch for every line."""
    program, *args = shlex.split(command)
    argv = [args[1], *args[2:]] if program == "python" else [program, *args]
    with patch.object(sys, "argv", argv):
        if program == "python":
            assert args[0] == "-m", command
            runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        else:
            (script,) = entry_points(group="console_scripts", name=program)
            try:
                script.load()()
            except SystemExit as exit:  # Hydra apps exit with status 1 on an error
                assert exit.code in (0, None), f"{command}: exit status {exit.code}"


@pytest.mark.filterwarnings("ignore:'tests.fixtures.folder' found in sys.modules:RuntimeWarning")
def test_readme_walkthrough_from_a_folder_to_named_predictions(tmp_path, monkeypatch):
    commands = walkthrough_commands()
    assert [c.split()[0] for c in commands] == ["python", "encnet-check-data", "encnet-train", "encnet-eval",
                                                "encnet-predict"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(REPO))  # `python -m tests.fixtures.folder` from the repository's root
    for command in commands:
        GlobalHydra.instance().clear()
        run_line(command)
    GlobalHydra.instance().clear()

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
