"""Notebooks render and run: stored with their outputs (figures visible without running them), and executed
here by a Jupyter kernel (nbclient), from a directory without logs/, so on a small untrained network."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def outputs(notebook: nbformat.NotebookNode, kind: str) -> list:
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == kind]


def figures(notebook: nbformat.NotebookNode) -> int:
    return sum("image/png" in o.get("data", {}) for cell in notebook.cells for o in cell.get("outputs", []))


def test_there_are_notebooks():
    assert {p.name for p in NOTEBOOKS} >= {"explore_context_scenes.ipynb", "inside_context_encoding.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_stored_with_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), f"{path.name}: run `make notebooks` to store its outputs"
    assert not outputs(notebook, "error")
    assert figures(notebook) >= 3


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_executes_in_a_kernel(path, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute()
    assert not outputs(notebook, "error")
    printed = "".join(o.text for o in outputs(notebook, "stream"))
    assert "checkpoint: none found" in printed
    assert figures(notebook) >= 3
