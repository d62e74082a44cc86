"""Learning curves: val metrics against epoch from the runs' per-epoch history, mean and 95 % interval over
seeds, plotted one panel per metric; and how much a curve falls back on its way (its stability)."""

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


FALLS = ("largest_fall", "total_fall")


def falls(values: list[float], lower_is_better: bool = False) -> tuple[float, float]:
    """The largest fall of a curve from one epoch to the next, and the sum of its falls (the ground it loses on
    its way; both 0 for a curve that only improves). A fall of an error (``lower_is_better``) is a rise."""
    sign = 1.0 if lower_is_better else -1.0
    steps = [max(0.0, sign * (b - a)) for a, b in zip(values, values[1:])]
    return max(steps, default=0.0), sum(steps)


def add_falls(groups: dict[str, list[dict]], metric: str) -> tuple[str, str]:
    """Add ``{metric}/largest_fall`` and ``{metric}/total_fall`` (:func:`falls` of the validated epochs, in the
    metric's units) to every record; returns the two keys."""
    keys = tuple(f"{metric}/{name}" for name in FALLS)
    for records in groups.values():
        for record in records:
            curve = [e[metric] for e in sorted(history(record), key=lambda e: e["epoch"]) if metric in e]
            if len(curve) < 2:
                raise KeyError(f"{record['_path']}: its history holds {metric} for {len(curve)} epoch(s); "
                               "a fall needs two")
            record.update(zip(keys, falls(curve, lower_is_better=metric.endswith("top1_err"))))
    return keys
