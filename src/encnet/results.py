"""``encnet-results DIR``: aggregate the ``metrics.json`` of a sweep into mean ± std per configuration.

Runs are grouped by their Hydra overrides with ``seed`` removed (and their model choice), so
``encnet-train -m model.se_loss_weight=0,0.2 seed=0,1,2`` gives one row per α over three seeds.

    encnet-results DIR                                   # rich table: mIoU, pixAcc per configuration
    encnet-results DIR --classes sand earth              # + the IoU of these classes
    encnet-results DIR --mean-of sand earth wall         # + the mean IoU of these classes (per run, then ± std)
    encnet-results DIR --markdown                        # the same as a Markdown table
    encnet-results DIR --plot sweep.png                  # mIoU and pixAcc against each swept key, error bars

``--plot`` draws one column per swept config key (a key some run overrides, e.g. ``model.se_loss_weight``):
it holds the runs that override nothing but that key (runs that override nothing sit at the key's default),
at the key's value read from the run's saved model config; points are mean ± std over seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

import rich
import rich.table

METRICS = ("val/mIoU", "val/pixAcc")
MEAN_OF = "val/IoU/mean"


def collect(root: Path) -> dict[str, list[dict]]:
    """metrics.json files under ``root`` grouped by configuration: model choice + the overrides that tell
    runs apart (seed excluded, and overrides that every run shares, such as ``data.num_workers=0``)."""
    files = sorted(root.rglob("metrics.json"))
    if not files:
        raise FileNotFoundError(f"no metrics.json under {root}")
    records = []
    for file in files:
        record = json.loads(file.read_text())
        record["_path"] = str(file)
        records.append(record)
    shared = set.intersection(*(set(_overrides(r)) for r in records))
    groups: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        record["_varied"] = [o for o in _overrides(record) if o not in shared]
        groups[" ".join([f"model={_model(record)}", *record["_varied"]])].append(record)
    return dict(groups)


def _model(record: dict) -> str:
    return record.get("choices", {}).get("model", "?")


def _overrides(record: dict) -> list[str]:
    return [o for o in record.get("overrides", []) if not o.startswith(("seed=", "model="))]


def add_class_mean(groups: dict[str, list[dict]], classes: list[str]) -> None:
    """Add ``val/IoU/mean`` to every record: the mean IoU of ``classes`` (each must be in every record)."""
    for records in groups.values():
        for record in records:
            missing = [c for c in classes if f"val/IoU/{c}" not in record]
            if missing:
                raise KeyError(f"{record['_path']} has no val/IoU for class(es) {missing}")
            record[MEAN_OF] = statistics.mean(record[f"val/IoU/{c}"] for c in classes)


def summarise(groups: dict[str, list[dict]], metrics: tuple[str, ...] = METRICS) -> list[dict]:
    """One row per configuration: n, seeds, and mean/std (in %) of each metric."""
    rows = []
    for name, records in groups.items():
        row = {"config": name, "n": len(records), "seeds": sorted(r.get("seed") for r in records)}
        for metric in metrics:
            row[metric] = _mean_std([100 * r[metric] for r in records if metric in r])
        rows.append(row)
    return rows


def _mean_std(values: list[float]) -> tuple[float, float] | None:
    if not values:
        return None
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def _config_value(record: dict, key: str) -> Any:
    """The value of dotted ``key`` (``model.num_codes``) in the run's saved config."""
    value: Any = record.get("config")
    if value is None:
        raise KeyError(f"{record['_path']} has no saved config (written by an older encnet-train)")
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"{record['_path']}: the saved config has no key {key!r}")
        value = value[part]
    return value


def sweep_series(groups: dict[str, list[dict]], metrics: tuple[str, ...]) -> dict[str, dict[str, list]]:
    """Per swept key: sorted x values and, per metric, (mean, std) over the runs at each value."""
    records = [r for rs in groups.values() for r in rs]
    keys = sorted({o.split("=", 1)[0] for r in records for o in r["_varied"]})
    if not keys:
        raise ValueError("nothing to plot: no run overrides a config key (besides seed)")
    models = {_model(r) for r in records}
    if len(models) > 1:
        raise ValueError(f"--plot needs runs of one model config, found {sorted(models)}")
    series = {}
    for key in keys:
        by_value: dict[Any, list[dict]] = defaultdict(list)
        for record in records:
            if all(o.split("=", 1)[0] == key for o in record["_varied"]):
                by_value[_config_value(record, key)].append(record)
        xs = sorted(by_value)
        series[key] = {"x": xs, "n": [len(by_value[x]) for x in xs]}
        for metric in metrics:
            series[key][metric] = [_mean_std([100 * r[metric] for r in by_value[x]]) for x in xs]
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="directory searched recursively for metrics.json")
    parser.add_argument("--classes", nargs="*", default=[], help="also report val/IoU/<class> for these")
    parser.add_argument("--mean-of", nargs="*", default=[], metavar="CLASS",
                        help="also report the mean IoU of these classes (e.g. the ambiguous ones)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table (for the README)")
    parser.add_argument("--plot", type=Path, metavar="FILE.png", help="plot the metrics against each swept key")
    args = parser.parse_args(argv)
    groups = collect(args.root)
    metrics = (*METRICS, *(f"val/IoU/{c}" for c in args.classes))
    if args.mean_of:
        add_class_mean(groups, args.mean_of)
        metrics = (*metrics, MEAN_OF)
    names = [f"mean IoU of {', '.join(args.mean_of)}" if m == MEAN_OF else m for m in metrics]
    if args.plot:
        labels = {MEAN_OF: f"val mean IoU of {len(args.mean_of)} classes"}
        plot(sweep_series(groups, metrics), metrics, args.plot, f"{args.root.name}: mean ± std over seeds", labels)
        rich.print(f"plot written to {args.plot}")
    rows = summarise(groups, metrics)
    cells = [[f"{r[m][0]:.2f} ± {r[m][1]:.2f}" if r[m] else "–" for m in metrics] for r in rows]
    if args.markdown:
        print("| configuration | seeds | " + " | ".join(f"{m} (%)" for m in names) + " |")
        print("| --- " * (len(metrics) + 2) + "|")
        for r, c in zip(rows, cells):
            print(f"| `{r['config']}` | {r['n']} | " + " | ".join(c) + " |")
        return
    table = rich.table.Table(title=f"{args.root} (mean ± std over seeds, %)")
    for col in ("configuration", "seeds", *names):
        table.add_column(col)
    for r, c in zip(rows, cells):
        table.add_row(r["config"], str(r["seeds"]), *c)
    rich.print(table)


if __name__ == "__main__":
    main()
