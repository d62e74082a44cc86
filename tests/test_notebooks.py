"""Notebooks render and run: stored with their outputs (figures visible without running them) from the committed
trained checkpoints (results/checkpoints/), and executed here by a Jupyter kernel (nbclient) from another
directory, where they find those checkpoints from the package's checkout and print what is stored."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
# the checkpoints each notebook loads: the study's 128 px seed-0 runs, committed weights-only
CHECKPOINTS = {"explore_context_scenes.ipynb": ("encnet", "fcn"), "inside_context_encoding.ipynb": ("encnet",)}


def outputs(notebook: nbformat.NotebookNode, kind: str) -> list:
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == kind]


def figures(notebook: nbformat.NotebookNode) -> int:
    return sum("image/png" in o.get("data", {}) for cell in notebook.cells for o in cell.get("outputs", []))


def printed(notebook: nbformat.NotebookNode) -> str:
    return "".join(o.text for o in outputs(notebook, "stream"))


def checkpoint_lines(path: Path) -> list[str]:
    """The lines a notebook prints for the committed checkpoints it must load (each file exists)."""
    folder = REPO / "results" / "checkpoints"
    files = [folder / f"context_scenes_128px_{arch}_s0.ckpt" for arch in CHECKPOINTS[path.name]]
    assert all(f.is_file() for f in files)
    return [f"checkpoint: {f.name}" for f in files]


def test_there_are_notebooks():
    assert {p.name for p in NOTEBOOKS} == set(CHECKPOINTS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_stored_with_outputs_of_the_committed_checkpoints(path):
    notebook = nbformat.read(path, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), f"{path.name}: run `make notebooks` to store its outputs"
    assert not outputs(notebook, "error")
    assert figures(notebook) >= 3
    lines = printed(notebook).splitlines()
    assert [line.split(" (")[0] for line in lines if line.startswith("checkpoint:")] == checkpoint_lines(path)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_executes_in_a_kernel_and_reproduces_what_is_stored(path, tmp_path):
    stored = nbformat.read(path, as_version=4)
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                   ).execute()
    assert not outputs(notebook, "error")
    assert figures(notebook) >= 3
    assert printed(notebook) == printed(stored)  # same checkpoints, same scenes: the stored numbers
