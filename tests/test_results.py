"""encnet-results: aggregation of a sweep's metrics.json files."""

from __future__ import annotations

import json

import pytest

from encnet.results import collect, main, summarise


def _write(root, name, model, overrides, seed, miou, acc):
    d = root / name
    d.mkdir(parents=True)
    record = {"val/mIoU": miou, "val/pixAcc": acc, "seed": seed, "choices": {"model": model},
              "overrides": [*overrides, f"seed={seed}"]}
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


def test_no_metrics_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no metrics.json"):
        collect(tmp_path)
