"""The documentation's result tables and figures are what ``make results-tables`` prints from the committed
``results/``."""

from __future__ import annotations

import json
import re

import pytest

from encnet.cli.docs_tables import BLOCKS, FILES, block, draw_figures, markers, render, write_blocks
from encnet.data.context_scenes import CLASSES
from encnet.infra.config import CONFIG_DIR

REPO = CONFIG_DIR.parent


@pytest.mark.parametrize("name", BLOCKS)
def test_the_tables_equal_the_results(name, monkeypatch):
    monkeypatch.chdir(REPO)  # the commands read results/ as the documentation quotes them
    rendered, path = render(name), REPO / FILES[name]
    assert block(path, name) == rendered.strip("\n")
    for figure in re.findall(r"!\[[^]]*\]\(([^)]+)\)", rendered):
        assert (path.parent / figure).is_file(), f"{figure}: run `make results-doc` to draw it"


def test_missing_markers_name_the_file(tmp_path):
    readme = tmp_path / "README.md"
    begin, end = markers("curves")
    readme.write_text(f"no tables\n{end}\n{begin}\n")
    with pytest.raises(ValueError, match=f"{readme} must hold one {begin}"):
        block(readme, "curves")
    with pytest.raises(KeyError, match="no results block 'nope'"):
        render("nope")


def test_write_blocks_replaces_only_the_blocks(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an empty results/: every item says so, with its command
    (tmp_path / "docs").mkdir()
    for file in set(FILES.values()):
        names = [n for n in BLOCKS if FILES[n] == file]
        (tmp_path / file).write_text("before\n" + "".join(f"{b}\nold\n{e}\nbetween\n" for b, e in map(markers, names)))
    write_blocks(tmp_path)
    text = (tmp_path / "docs" / "results.md").read_text()
    assert text.startswith(f"before\n{markers('curves')[0]}\n**128 px") and text.endswith("\nbetween\n")
    assert "old" not in text and text.count("between") == len(BLOCKS) - 1
    assert all(block(tmp_path / FILES[name], name) == render(name).strip("\n") for name in BLOCKS)
    assert "not run yet (`make curves table1`)" in text and "not run yet (`make multiscale`)" in text
    assert "**384 px scenes, after 24 epochs" in (tmp_path / "README.md").read_text()


def _run(path, seed, miou, overrides=(), **model):
    """A training run's metrics.json: EncNet at 24 epochs with ``model`` config values."""
    path.mkdir(parents=True)
    path.joinpath("metrics.json").write_text(json.dumps({
        "val/mIoU": miou, "val/pixAcc": 0.9, **{f"val/IoU/{c}": miou for c in CLASSES}, "seed": seed,
        "choices": {"model": "encnet"}, "overrides": ["model=encnet", f"seed={seed}", *overrides],
        "config": {"model": {"se_loss_weight": 0.2, "num_codes": 32} | model}}))


def test_figures_drawn_from_the_runs_once_every_directory_has_some(tmp_path, monkeypatch):
    """The α figure pools the default EncNet curve runs, Table 1's α = 0 runs and the other α; the K figure
    lacks its K = 0 runs, so it is neither drawn nor shown."""
    monkeypatch.chdir(tmp_path)
    results = tmp_path / "results"
    for seed in (0, 1):
        _run(results / "curves/128px/encnet" / f"s{seed}", seed, 0.9)
        _run(results / "table1/128px/no_se" / f"s{seed}", seed, 0.8, ["model.se_loss_weight=0"], se_loss_weight=0)
        _run(results / "figure5/128px/alpha/0.4" / f"s{seed}", seed, 0.85, ["model.se_loss_weight=0.4"],
             se_loss_weight=0.4)
        _run(results / "figure5/128px/codes/8" / f"s{seed}", seed, 0.85, ["model.num_codes=8"], num_codes=8)
    assert draw_figures() == ["docs/figure5_alpha.png"]
    assert (tmp_path / "docs" / "figure5_alpha.png").stat().st_size > 0
    shown = render("figure5")
    assert "| `model=encnet model.se_loss_weight=0.4` | 2 | 85.00 ± 0.00 |" in shown
    assert "![Figure 5 in miniature: against α (`model.se_loss_weight`)](figure5_alpha.png)" in shown
    assert "against K (`model.num_codes`)** (`encnet-results results/curves/128px/encnet results/table1/128px/k0 " \
           "results/figure5/128px/codes" in shown
    assert "not run yet (`make curves figure5`)" in shown


def _pilot_run(path, model, miou):
    """A 48-epoch pilot run's metrics.json, its history holding epoch 24 at the final metrics."""
    _run(path, 0, miou)
    record = json.loads((path / "metrics.json").read_text())
    record["choices"]["model"], record["overrides"][0] = model, f"model={model}"
    record["history"] = [{"epoch": 23, **{k: v for k, v in record.items() if k.startswith("val/")}}]
    (path / "metrics.json").write_text(json.dumps(record))


def test_a_pair_without_its_baseline_yet_is_shown_without_differences(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _pilot_run(tmp_path / "results/pilot/384px/48ep/encnet/s0", "encnet", 0.5)
    shown = render("pilot")
    assert shown.count("| `model=encnet` | 1 | 50.00 ± 0.00 |") == 2 and "Δ" not in shown
    assert shown.count("No `model=fcn` run yet, so no paired differences (`make pilot`).") == 2
    _pilot_run(tmp_path / "results/pilot/384px/48ep/fcn/s0", "fcn", 0.4)
    shown = render("pilot")
    assert shown.count("| `model=encnet` | 1 | +10.00 (1 pair) |") == 2 and "run yet" not in shown


@pytest.mark.parametrize("file", sorted(set(FILES.values())))
def test_the_prose_quotes_intervals_of_the_tables(file, monkeypatch):
    """Every ``Δ [low, high]`` the prose of the results page and of the README quotes is a cell of a table
    rendered from results/."""
    monkeypatch.chdir(REPO)
    text = (REPO / file).read_text().replace("−", "-")
    tables = "\n".join(render(name) for name in BLOCKS)
    for name in BLOCKS:
        begin, end = markers(name)
        if begin in text:
            text = text[:text.index(begin)] + text[text.index(end) + len(end):]
    quoted = re.findall(r"[+-]\d+\.\d\d \S* ?\[[+-]\d+\.\d\d, [+-]\d+\.\d\d\]", text)
    assert quoted
    for cell in quoted:
        value, interval = re.match(r"([+-]\d+\.\d\d).*?(\[.*\])", cell).groups()
        assert f"{value} {interval}" in tables, cell
