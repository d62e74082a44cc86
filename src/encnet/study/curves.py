"""Learning curves: val metrics against epoch from the runs' per-epoch history, mean and 95 % interval over
seeds, plotted one panel per metric."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from encnet.study.records import history, percent
from encnet.study.statistics import interval


def curve_series(groups: dict[str, list[dict]], metrics: tuple[str, ...]) -> dict[str, dict[str, list]]:
    """Per configuration: epochs (1-based) and, per metric, (mean, low, high) in % over the seeds whose history
    has that epoch."""
    series = {}
    for name, records in groups.items():
        by_epoch: dict[int, list[dict]] = defaultdict(list)
        for record in records:
            for entry in history(record):
                by_epoch[entry["epoch"] + 1].append(entry)
        epochs = sorted(by_epoch)
        series[name] = {"epoch": epochs, "n": [len(by_epoch[e]) for e in epochs]}
        for metric in metrics:
            series[name][metric] = [interval([percent(metric) * e[metric] for e in by_epoch[x] if metric in e])
                                    for x in epochs]
    return series


def plot_curves(series: dict[str, dict[str, list]], metrics: tuple[str, ...], path: Path, title: str,
                labels: dict[str, str] | None = None) -> None:
    """One panel per metric: each configuration's mean over seeds against epoch, its 95 % interval shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(metrics), figsize=(5.0 * len(metrics), 3.6), squeeze=False,
                             constrained_layout=True)
    for ax, metric in zip(axes[0], metrics):
        for name, data in series.items():
            means = [m for m, _, _ in data[metric]]
            lows = [m if lo is None else lo for m, lo, _ in data[metric]]
            highs = [m if hi is None else hi for m, _, hi in data[metric]]
            line, = ax.plot(data["epoch"], means, marker=".", label=f"{name} (n={max(data['n'])})")
            ax.fill_between(data["epoch"], lows, highs, color=line.get_color(), alpha=0.2)
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"{(labels or {}).get(metric, metric)} (%)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize="small")
    fig.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
