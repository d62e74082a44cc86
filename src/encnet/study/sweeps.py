"""Sweeps: a metric against each swept config key (``model.se_loss_weight``, ``model.num_codes``), mean ± std over
the seeds at each value, plotted one column per key."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from encnet.study.records import config_value, model_name, percent
from encnet.study.statistics import mean_std


def sweep_series(groups: dict[str, list[dict]], metrics: tuple[str, ...]) -> dict[str, dict[str, list]]:
    """Per swept key: sorted x values and, per metric, (mean, std) over the runs at each value."""
    records = [r for rs in groups.values() for r in rs]
    keys = sorted({o.split("=", 1)[0] for r in records for o in r["_varied"]})
    if not keys:
        raise ValueError("nothing to plot: no run overrides a config key (besides seed)")
    models = {model_name(r) for r in records}
    if len(models) > 1:
        raise ValueError(f"--plot needs runs of one model config, found {sorted(models)}")
    series = {}
    for key in keys:
        by_value: dict[Any, list[dict]] = defaultdict(list)
        for record in records:
            if all(o.split("=", 1)[0] == key for o in record["_varied"]):
                by_value[config_value(record, key)].append(record)
        xs = sorted(by_value)
        series[key] = {"x": xs, "n": [len(by_value[x]) for x in xs]}
        for metric in metrics:
            series[key][metric] = [mean_std([percent(metric) * r[metric] for r in by_value[x]]) for x in xs]
    return series


def plot(series: dict[str, dict[str, list]], metrics: tuple[str, ...], path: Path, title: str,
         labels: dict[str, str] | None = None) -> None:
    """One column per swept key, one row per metric, mean ± std error bars; saved as ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(metrics), len(series), figsize=(4.2 * len(series), 3.0 * len(metrics)),
                             squeeze=False, constrained_layout=True)
    for col, (key, data) in enumerate(series.items()):
        for row, metric in enumerate(metrics):
            ax = axes[row][col]
            means, stds = zip(*data[metric])
            positions = range(len(data["x"]))  # evenly spaced: α and K grow geometrically
            ax.errorbar(positions, means, yerr=stds, marker="o", capsize=4)
            ax.set_xticks(list(positions), [f"{x:g}\n(n={n})" for x, n in zip(data["x"], data["n"])])
            ax.set_xlabel(key)
            ax.set_ylabel(f"{(labels or {}).get(metric, metric)} (%)")
            ax.grid(alpha=0.3)
    fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
