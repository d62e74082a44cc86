"""encnet-results: aggregation of a sweep's metrics.json files."""

from __future__ import annotations

import json

import pytest

from encnet.results import METRICS, collect, main, summarise, sweep_series


def _write(root, name, model, overrides, seed, miou, acc, config=None, **extra):
    d = root / name
    d.mkdir(parents=True)
    record = {"val/mIoU": miou, "val/pixAcc": acc, "seed": seed, "choices": {"model": model},
              "overrides": [*overrides, f"seed={seed}"], **extra}
    if config is not None:
        record["config"] = config
    (d / "metrics.json").write_text(json.dumps(record))


def test_groups_by_config_without_seed(tmp_path, capsys):
    _write(tmp_path, "a0", "encnet", ["model.se_loss_weight=0"], 0, 0.5, 0.9)
    _write(tmp_path, "a1", "encnet", ["model.se_loss_weight=0"], 1, 0.7, 0.8)
    _write(tmp_path, "b0", "fcn", ["model=fcn"], 0, 0.4, 0.85)
    rows = {r["config"]: r for r in summarise(collect(tmp_path))}
    assert set(rows) == {"model=encnet model.se_loss_weight=0", "model=fcn"}
    mean, std = rows["model=encnet model.se_loss_weight=0"]["val/mIoU"]
    assert mean == pytest.approx(60.0) and std == pytest.approx(14.1421356)
    assert rows["model=fcn"]["n"] == 1 and rows["model=fcn"]["val/mIoU"] == (pytest.approx(40.0), 0.0)
    main([str(tmp_path), "--markdown"])
    assert "| `model=fcn` | 1 | 40.00 ± 0.00 | 85.00 ± 0.00 |" in capsys.readouterr().out
    main([str(tmp_path), "--markdown", "--classes", "sand"])
    assert "| `model=fcn` | 1 | 40.00 ± 0.00 | 85.00 ± 0.00 | – |" in capsys.readouterr().out


def test_overrides_every_run_shares_do_not_name_configurations(tmp_path):
    _write(tmp_path, "a", "encnet", ["data.num_workers=0"], 0, 0.5, 0.9, _config(0.2, 32))
    _write(tmp_path, "b", "encnet", ["data.num_workers=0", "model.num_codes=8"], 0, 0.4, 0.9, _config(0.2, 8))
    assert set(collect(tmp_path)) == {"model=encnet", "model=encnet model.num_codes=8"}
    assert list(sweep_series(collect(tmp_path), METRICS)) == ["model.num_codes"]


def test_no_metrics_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no metrics.json"):
        collect(tmp_path)


def test_mean_of_classes_per_run_then_over_seeds(tmp_path, capsys):
    _write(tmp_path, "a", "encnet", [], 0, 0.5, 0.9, **{"val/IoU/sand": 0.2, "val/IoU/earth": 0.4})
    _write(tmp_path, "b", "encnet", [], 1, 0.5, 0.9, **{"val/IoU/sand": 0.6, "val/IoU/earth": 0.8})
    main([str(tmp_path), "--markdown", "--mean-of", "sand", "earth"])
    out = capsys.readouterr().out
    assert "mean IoU of sand, earth (%)" in out and "| 50.00 ± 28.28 |" in out  # runs: 30 %, 70 %
    with pytest.raises(KeyError, match="no val/IoU for class.*'road'"):
        main([str(tmp_path), "--mean-of", "sand", "road"])


def _config(alpha, codes):
    return {"model": {"se_loss_weight": alpha, "num_codes": codes}}


def test_plot_series_per_swept_key(tmp_path):
    """One column per swept key; a run that overrides nothing sits at its saved default in every column."""
    for seed, miou in ((0, 0.5), (1, 0.7)):
        _write(tmp_path, f"d{seed}", "encnet", [], seed, miou, 0.9, _config(0.2, 32))
        _write(tmp_path, f"a{seed}", "encnet", ["model.se_loss_weight=0"], seed, 0.4, 0.8, _config(0.0, 32))
        _write(tmp_path, f"k{seed}", "encnet", ["model.num_codes=8"], seed, 0.3, 0.7, _config(0.2, 8))
    series = sweep_series(collect(tmp_path), METRICS)
    assert list(series) == ["model.num_codes", "model.se_loss_weight"]
    assert series["model.se_loss_weight"]["x"] == [0.0, 0.2] and series["model.num_codes"]["x"] == [8, 32]
    assert series["model.se_loss_weight"]["n"] == [2, 2]
    (mean, std), _ = series["model.num_codes"]["val/mIoU"][::-1]
    assert mean == pytest.approx(60.0) and std == pytest.approx(14.1421356)
    main([str(tmp_path), "--plot", str(tmp_path / "docs" / "sweep.png")])
    assert (tmp_path / "docs" / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_errors_name_the_problem(tmp_path):
    _write(tmp_path, "a", "encnet", [], 0, 0.5, 0.9, _config(0.2, 32))
    with pytest.raises(ValueError, match="no run overrides a config key"):
        sweep_series(collect(tmp_path), METRICS)
    _write(tmp_path, "b", "fcn", ["model.lr=0.1"], 0, 0.5, 0.9, _config(0.2, 32))
    with pytest.raises(ValueError, match=r"one model config, found \['encnet', 'fcn'\]"):
        sweep_series(collect(tmp_path), METRICS)
    _write(tmp_path / "old", "c", "encnet", ["model.lr=0.1"], 0, 0.5, 0.9)
    _write(tmp_path / "old", "d", "encnet", ["model.lr=0.2"], 0, 0.5, 0.9)
    with pytest.raises(KeyError, match="has no saved config"):
        sweep_series(collect(tmp_path / "old"), METRICS)
