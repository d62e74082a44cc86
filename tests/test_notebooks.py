"""Notebooks stay runnable: every code cell of each notebook executes (on an untrained model)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_code_runs(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no logs/ here, so the notebook uses an untrained network
    notebook = nbformat.read(path, as_version=4)
    namespace: dict = {}
    for cell in notebook.cells:
        if cell.cell_type == "code":
            exec(compile(cell.source, f"{path.name}", "exec"), namespace)
    assert namespace["CKPT"] is None and namespace["pred"].shape == (6, 128, 128)
