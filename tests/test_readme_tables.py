"""The README's result tables are what ``make results-tables`` prints from the committed ``results/``."""

from __future__ import annotations

import pytest

from encnet.cli.readme_tables import BEGIN, END, readme_block, render, write_readme
from encnet.infra.config import CONFIG_DIR

REPO = CONFIG_DIR.parent


def test_readme_tables_equal_the_results(monkeypatch):
    monkeypatch.chdir(REPO)  # the commands read results/ as the README quotes them
    assert readme_block(REPO / "README.md") == render().strip("\n")


def test_missing_markers_name_the_file(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"no tables\n{END}\n{BEGIN}\n")
    with pytest.raises(ValueError, match=f"{readme} must hold one"):
        readme_block(readme)


def test_write_readme_replaces_only_the_block(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an empty results/: every table says so
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{BEGIN}\nold\n{END}\nafter\n")
    write_readme(readme)
    text = readme.read_text()
    assert text.startswith(f"before\n{BEGIN}\n**128 px") and text.endswith(f"\n{END}\nafter\n") and "old" not in text
    assert readme_block(readme) == render().strip("\n") and "no run has finished yet" in text
