"""The documentation's result tables are what ``make results-tables`` prints from the committed ``results/``."""

from __future__ import annotations

import pytest

from encnet.cli.docs_tables import BLOCKS, block, markers, render, write_block
from encnet.infra.config import CONFIG_DIR

REPO = CONFIG_DIR.parent


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_the_tables_equal_the_results(name, monkeypatch):
    monkeypatch.chdir(REPO)  # the commands read results/ as the documentation quotes them
    file, _ = BLOCKS[name]
    assert block(REPO / file, name) == render(name).strip("\n")


def test_missing_markers_name_the_file(tmp_path):
    begin, end = markers("headline")
    readme = tmp_path / "README.md"
    readme.write_text(f"no tables\n{end}\n{begin}\n")
    with pytest.raises(ValueError, match=f"{readme} must hold one"):
        block(readme, "headline")


def test_write_block_replaces_only_the_block(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an empty results/: every table says so
    begin, end = markers("results-tables")
    doc = tmp_path / "results.md"
    doc.write_text(f"before\n{begin}\nold\n{end}\nafter\n")
    write_block(doc, "results-tables")
    text = doc.read_text()
    assert text.startswith(f"before\n{begin}\n**128 px") and text.endswith(f"\n{end}\nafter\n") and "old" not in text
    assert block(doc, "results-tables") == render("results-tables").strip("\n") and "no run has finished yet" in text
