"""encnet-results: aggregation of a sweep's metrics.json files, paired differences, learning curves."""

from __future__ import annotations

import json

import pytest
from scipy import stats

from encnet.cli.results import main
from encnet.study.curves import curve_series, falls
from encnet.study.records import MEAN_OF, METRICS, add_class_mean, collect
from encnet.study.statistics import paired_differences, summarise
from encnet.study.sweeps import sweep_series


def _write(root, name, model, overrides, seed, miou, acc, config=None, **extra):
    d = root / name
    d.mkdir(parents=True)
    record = {"val/mIoU": miou, "val/pixAcc": acc, "seed": seed, "choices": {"model": model},
              "overrides": [*overrides, f"seed={seed}"], **extra}
    if config is not None:
        record["config"] = config
    (d / "metrics.json").write_text(json.dumps(record))


def test_configurations_come_in_the_numeric_order_of_their_folders(tmp_path):
    for k in (64, 8, 16):
        _write(tmp_path / "codes", str(k), "encnet", [f"model.num_codes={k}"], 0, 0.5, 0.9)
    assert list(collect(tmp_path)) == [f"model=encnet model.num_codes={k}" for k in (8, 16, 64)]


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


def _history(*mious):
    return [{"epoch": e, "step": 10 * (e + 1), "val/mIoU": m, "val/pixAcc": 0.9, "val/IoU/sand": m} for e, m in
            enumerate(mious)]


def _pairs(root):
    """FCN and EncNet over seeds 0–2 (EncNet + 2, + 4, + 6 points), plus an EncNet seed without FCN partner."""
    for seed, (fcn, enc) in enumerate(((0.50, 0.52), (0.60, 0.64), (0.40, 0.46))):
        _write(root, f"fcn{seed}", "fcn", ["model=fcn"], seed, fcn, 0.9, history=_history(fcn - 0.1, fcn),
               **{"val/IoU/sand": fcn})
        _write(root, f"enc{seed}", "encnet", ["model=encnet"], seed, enc, 0.9, history=_history(enc - 0.3, enc),
               **{"val/IoU/sand": enc})
    _write(root, "enc9", "encnet", ["model=encnet"], 9, 0.99, 0.9, history=_history(0.1, 0.99),
           **{"val/IoU/sand": 0.99})


def test_baseline_paired_differences_with_t_interval(tmp_path, capsys):
    """Differences over the shared seeds only (seed 9 has no FCN run): mean +4, 95 % t-interval 4 ± t(0.975, 2)
    × 2/√3 = [−0.97, +8.97], for mIoU and the class mean alike; pixAcc differs by 0."""
    _pairs(tmp_path)
    (row,) = paired_differences(collect(tmp_path), "model=fcn", METRICS)
    assert row["config"] == "model=encnet" and row["baseline"] == "model=fcn" and sorted(row["pairs"]) == [0, 1, 2]
    mean, low, high, n = row["val/mIoU"]
    half = stats.t.ppf(0.975, 2) * 2 / 3 ** 0.5
    assert n == 3 and mean == pytest.approx(4.0) and (low, high) == (pytest.approx(4 - half), pytest.approx(4 + half))
    assert row["val/pixAcc"] == (0.0, 0.0, 0.0, 3)
    main([str(tmp_path), "--baseline", "model=fcn", "--mean-of", "sand", "--markdown"])
    out = capsys.readouterr().out
    assert "| `model=encnet` | 3 | +4.00 [-0.97, +8.97] | +0.00 [+0.00, +0.00] | +4.00 [-0.97, +8.97] |" in out
    assert "Δ val mean IoU of sand (points, 95 % CI)" in out


def test_differences_at_an_equal_budget_from_the_history(tmp_path, capsys):
    """--epoch 1: the history's first epoch, where EncNet trails FCN by 18, 16 and 14 points."""
    _pairs(tmp_path)
    main([str(tmp_path), "--baseline", "model=fcn", "--epoch", "1", "--markdown"])
    out = capsys.readouterr().out
    assert "− `model=fcn` at epoch 1 |" in out and "| `model=encnet` | 3 | -16.00 [-20.97, -11.03] |" in out
    with pytest.raises(ValueError, match=r"--epoch 3: .*enc0/metrics.json has validated epochs 1–2 only"):
        main([str(tmp_path), "--epoch", "3"])


def test_curves_plot_mean_and_interval_per_epoch(tmp_path):
    _pairs(tmp_path)
    groups = collect(tmp_path)
    add_class_mean(groups, ["sand"])
    series = curve_series(groups, ("val/mIoU", MEAN_OF))
    assert series["model=fcn"]["epoch"] == [1, 2] and series["model=encnet"]["n"] == [4, 4]
    assert series["model=fcn"]["val/mIoU"][1][0] == pytest.approx(50.0)
    main([str(tmp_path), "--curves", str(tmp_path / "docs" / "curves.png"), "--mean-of", "sand"])
    assert (tmp_path / "docs" / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_runs_and_cifar_errors_are_read(tmp_path, capsys):
    """Two evaluations of each checkpoint (single scale, multi-scale + flip) are two rows of test/ metrics,
    paired by checkpoint; a CIFAR run's top1_err is shown as logged (in %)."""
    for ckpt, (single, multi) in enumerate(((0.50, 0.53), (0.60, 0.61))):
        for name, scales, miou in (("s", "[1.0]", single), ("m", "[0.75,1.0,1.25]", multi)):
            d = tmp_path / "eval" / f"{name}{ckpt}"
            d.mkdir(parents=True)
            (d / "metrics.json").write_text(json.dumps({
                "test/mIoU": miou, "test/pixAcc": 0.9, "seed": 0, "ckpt_path": f"run{ckpt}/last.ckpt",
                "eval": {"scales": scales}, "overrides": [f"ckpt_path=run{ckpt}/last.ckpt", f"eval.scales={scales}"]}))
    main([str(tmp_path / "eval"), "--baseline", "eval.scales=[1.0]", "--markdown"])
    out = capsys.readouterr().out
    assert "test/mIoU (%)" in out and "| `model=? eval.scales=[1.0]` | 2 | 55.00 ± 7.07 | 90.00 ± 0.00 |" in out
    assert "| `model=? eval.scales=[0.75,1.0,1.25]` | 2 | +2.00 [-10.71, +14.71] |" in out
    _write(tmp_path / "cifar", "a", "cifar_encnet", [], 0, 0, 0)
    record = json.loads((tmp_path / "cifar" / "a" / "metrics.json").read_text())
    (tmp_path / "cifar" / "a" / "metrics.json").write_text(json.dumps(
        {k: v for k, v in record.items() if not k.startswith("val/")} | {"test/top1_err": 4.5}))
    main([str(tmp_path / "cifar"), "--markdown"])
    assert "| `model=cifar_encnet` | 1 | 4.50 ± 0.00 |" in capsys.readouterr().out


def test_bad_statistics_inputs_name_the_problem(tmp_path, capsys):
    _pairs(tmp_path)
    with pytest.raises(ValueError, match=r"--baseline must be KEY=VALUE \(e.g. model=fcn\) or KEY .*, got 'model='"):
        main([str(tmp_path), "--baseline", "model="])
    with pytest.raises(ValueError, match=r"--baseline model.warmup_steps: no configuration overrides it; "
                                         r"configurations: \['model=encnet', 'model=fcn'\]"):
        main([str(tmp_path), "--baseline", "model.warmup_steps"])
    with pytest.raises(ValueError, match=r"--baseline model=deeplab: no configuration has it; configurations: "
                                         r"\['model=encnet', 'model=fcn'\]"):
        main([str(tmp_path), "--baseline", "model=deeplab"])
    with pytest.raises(KeyError, match=r"--metric test/mIoU: no metrics.json under .* holds it"):
        main([str(tmp_path), "--metric", "test/mIoU"])
    _write(tmp_path / "old", "a", "fcn", ["model=fcn"], 0, 0.5, 0.9)
    main([str(tmp_path / "old"), "--baseline", "model=fcn", "--markdown"])  # FCN runs alone: nothing to compare
    assert "No configuration to compare with `model=fcn` yet." in capsys.readouterr().out
    with pytest.raises(KeyError, match=r"old/a/metrics.json has no per-epoch history"):
        main([str(tmp_path / "old"), "--curves", str(tmp_path / "c.png")])


def test_studies_pooled_and_variants_of_the_model_compared_with_the_baseline_model(tmp_path, capsys):
    """Two directories pooled: the curves' FCN and EncNet, and a study of EncNet variants (model.* overrides),
    each variant paired with the plain FCN by seed (an exact counterpart wins where there is one), and with the
    default EncNet under ``--baseline model=encnet``."""
    _pairs(tmp_path / "curves")
    for seed, miou in enumerate((0.53, 0.62)):
        _write(tmp_path / "table1", f"k0_{seed}", "encnet", ["model=encnet", "model.num_codes=0"], seed, miou, 0.9)
    rows = {r["config"]: r for r in paired_differences(collect(tmp_path / "curves", tmp_path / "table1"),
                                                       "model=fcn", METRICS)}
    assert rows["model=encnet model.num_codes=0"]["baseline"] == "model=fcn"
    assert rows["model=encnet model.num_codes=0"]["val/mIoU"][0] == pytest.approx(2.5)  # +3, +2 over seeds 0, 1
    assert rows["model=encnet"]["val/mIoU"][0] == pytest.approx(4.0)
    main([str(tmp_path / "curves"), str(tmp_path / "table1"), "--baseline", "model=fcn", "--markdown"])
    assert "| `model=encnet model.num_codes=0` | 2 | +2.50 [" in capsys.readouterr().out
    rows = {r["config"]: r for r in paired_differences(collect(tmp_path / "curves", tmp_path / "table1"),
                                                       "model=encnet", METRICS)}  # the variant against the default
    assert rows["model=encnet model.num_codes=0"]["baseline"] == "model=encnet"
    assert rows["model=encnet model.num_codes=0"]["val/mIoU"][0] == pytest.approx(-0.5)  # +1, -2 over seeds 0, 1
    assert rows["model=fcn"]["baseline"] == "model=encnet" and rows["model=fcn"]["val/mIoU"][0] == pytest.approx(-4.0)
    _write(tmp_path / "table1", "fcn_k0", "fcn", ["model=fcn", "model.num_codes=0"], 0, 0.1, 0.9)
    rows = {r["config"]: r for r in paired_differences(collect(tmp_path / "curves", tmp_path / "table1"),
                                                       "model=fcn", METRICS)}
    assert rows["model=encnet model.num_codes=0"]["baseline"] == "model=fcn model.num_codes=0"
    with pytest.raises(FileNotFoundError, match=f"no metrics.json under {tmp_path / 'none'}"):
        collect(tmp_path / "curves", tmp_path / "none")


def test_evaluations_grouped_by_the_checkpoints_model(tmp_path, capsys):
    """encnet-eval records name their checkpoint's network: one row per model and inference preset, and the
    multi-scale gain per model paired by checkpoint."""
    for model, seed, single, multi in (("fcn", 0, 0.50, 0.52), ("fcn", 1, 0.60, 0.61), ("encnet", 0, 0.70, 0.69)):
        for preset, miou in (("default", single), ("msflip", multi)):
            d = tmp_path / model / f"s{seed}" / preset
            d.mkdir(parents=True)
            ckpt = f"runs/{model}/s{seed}/last.ckpt"
            (d / "metrics.json").write_text(json.dumps({
                "test/mIoU": miou, "test/pixAcc": 0.9, "seed": 0, "ckpt_path": ckpt, "model": model, "eval": {},
                "overrides": [f"ckpt_path={ckpt}", f"inference@eval={preset}"]}))
    main([str(tmp_path), "--baseline", "inference@eval=default", "--markdown"])
    out = capsys.readouterr().out
    assert "| `model=fcn inference@eval=msflip` | 2 | +1.50 [" in out
    assert "| `model=encnet inference@eval=msflip` | 1 | -1.00 (1 pair) |" in out


def test_falls_of_a_curve():
    assert falls([0.5, 0.8, 0.6, 0.9, 0.7]) == (pytest.approx(0.2), pytest.approx(0.4))
    assert falls([0.1, 0.2, 0.3]) == (0.0, 0.0)  # only climbs
    assert falls([5.0, 4.0, 6.0, 5.5], lower_is_better=True) == (2.0, 2.0)  # an error's rise is its fall


def test_stability_of_a_recipe_against_the_default_one(tmp_path, capsys):
    """--baseline KEY: a recipe change (model.warmup_steps) against the same model without it, paired by seed;
    --stability: the curves' largest and total fall. Default curves fall by 30 and 20 points (seeds 0, 1), the
    warm-up's by 10 and 0."""
    for seed in (0, 1):
        for model in ("fcn", "encnet"):
            default = [0.5, 0.8, 0.5 + 0.1 * seed, 0.9]
            smooth = [0.5, 0.8, 0.7 + 0.1 * seed, 0.9]
            for name, overrides, curve in (("default", [], default), ("warmup", ["model.warmup_steps=124"], smooth)):
                _write(tmp_path / name, f"{model}{seed}", model, [f"model={model}", *overrides], seed, 0.9, 0.9,
                       history=[{"epoch": e, "val/mIoU": m} for e, m in enumerate(curve)])
    main([str(tmp_path), "--baseline", "model.warmup_steps", "--metric", "val/mIoU", "--stability", "--markdown"])
    out = capsys.readouterr().out
    assert "| configuration | seeds | val/mIoU (%) | val/mIoU, largest fall (%) | val/mIoU, total fall (%) |" in out
    assert "| `model=fcn` | 2 | 90.00 ± 0.00 | 25.00 ± 7.07 | 25.00 ± 7.07 |" in out
    assert "| configuration − the same without `model.warmup_steps` | pairs |" in out
    assert "| `model=encnet model.warmup_steps=124` | 2 | +0.00 [+0.00, +0.00] | -20.00 [-20.00, -20.00] |" in out
    assert out.count("model.warmup_steps=124` | 2 |") == 4  # summary and difference, each model
    with pytest.raises(KeyError, match=r"fcn0/metrics.json: its history holds val/mIoU for 1 epoch\(s\)"):
        _write(tmp_path / "short", "fcn0", "fcn", ["model=fcn"], 0, 0.9, 0.9, history=[{"epoch": 0, "val/mIoU": 0.9}])
        main([str(tmp_path / "short"), "--stability"])
