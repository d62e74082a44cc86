"""``encnet-results DIR``: aggregate the ``metrics.json`` of a sweep into mean ± std per configuration, paired
differences to a baseline with confidence intervals, and learning curves.

Runs are grouped by their Hydra overrides with ``seed`` removed (and their model choice; a resumed run's
``ckpt_path`` names no configuration), so ``encnet-train -m model.se_loss_weight=0,0.2 seed=0,1,2`` gives one
row per α over three seeds. ``encnet-eval`` runs (``test/`` metrics) are grouped by their overrides without
``ckpt_path`` (e.g. single- vs multi-scale) and paired by checkpoint; training runs are paired by seed.

    encnet-results DIR                                   # rich table: mIoU, pixAcc per configuration
    encnet-results DIR --classes sand earth              # + the IoU of these classes
    encnet-results DIR --mean-of sand earth wall         # + the mean IoU of these classes (per run, then ± std)
    encnet-results DIR --markdown                        # the same as a Markdown table
    encnet-results DIR --plot sweep.png                  # mIoU and pixAcc against each swept key, error bars
    encnet-results DIR --baseline model=fcn              # + paired difference to FCN, 95 % t-interval
    encnet-results DIR --baseline model=fcn --epoch 6    # the same after 6 epochs (from the per-epoch history)
    encnet-results DIR --curves curves.png               # val metrics against epoch, mean ± 95 % CI over seeds
    encnet-results DIR --metric test/mIoU                # the metrics to report (default: detected)
    encnet-results DIR1 DIR2 --baseline model=fcn        # the runs of several studies pooled

Metrics (``--metric``, default: whichever of ``val/``, ``test/`` × ``mIoU``, ``pixAcc``, ``top1_err`` the files
hold) are shown in % (``top1_err`` is logged in % already). ``--baseline KEY=VALUE``: each configuration is
compared with the one that differs from it only in ``KEY=VALUE`` (``model=fcn``: ``model=encnet x=1`` against
``model=fcn x=1``), else, where there is none, with the one that also lacks its ``KEY.*`` overrides (they
belong to its own choice of KEY: ``model=encnet model.num_codes=0`` against ``model=fcn``), over the pairing
keys both have; mean difference and its 95 % t-interval over the pairs,
with the number of pairs.

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
from scipy import stats

METRICS = ("val/mIoU", "val/pixAcc")
MEAN_OF = "val/IoU/mean"
STAGES = ("val", "test")
NAMES = ("mIoU", "pixAcc", "top1_err")
CONFIDENCE = 0.95


def collect(*roots: Path) -> dict[str, list[dict]]:
    """metrics.json files under ``roots`` (each must hold some) grouped by configuration: model choice + the
    overrides that tell runs apart (seed excluded, and overrides that every run shares, such as
    ``data.num_workers=0``)."""
    files = []
    for root in roots:
        found = sorted(Path(root).rglob("metrics.json"))
        if not found:
            raise FileNotFoundError(f"no metrics.json under {root}")
        files += found
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
    """The run's model config (a training run's Hydra choice; an ``encnet-eval`` run's checkpoint network)."""
    return record.get("choices", {}).get("model") or record.get("model", "?")


def _overrides(record: dict) -> list[str]:
    return [o for o in record.get("overrides", []) if not o.startswith(("seed=", "model=", "ckpt_path="))]


def pair_key(record: dict) -> Any:
    """What pairs two runs of different configurations: the checkpoint of an ``encnet-eval`` run, else the seed."""
    return record["ckpt_path"] if "eval" in record and "ckpt_path" in record else record.get("seed")


def percent(metric: str) -> float:
    """The factor that shows ``metric`` in % (``top1_err`` is logged in % already)."""
    return 1.0 if metric.endswith("top1_err") else 100.0


def detect_metrics(groups: dict[str, list[dict]]) -> tuple[str, ...]:
    """The summary metrics that some run holds, among ``val/`` and ``test/`` × mIoU, pixAcc, top1_err."""
    records = [r for rs in groups.values() for r in rs]
    found = tuple(f"{s}/{n}" for s in STAGES for n in NAMES if any(f"{s}/{n}" in r for r in records))
    if not found:
        raise KeyError(f"{records[0]['_path']}: none of the metrics "
                       f"{[f'{s}/{n}' for s in STAGES for n in NAMES]} (pass --metric KEY)")
    return found


def class_mean_key(stage: str) -> str:
    return f"{stage}/IoU/mean"


def add_class_mean(groups: dict[str, list[dict]], classes: list[str], stage: str = "val") -> None:
    """Add ``{stage}/IoU/mean`` to every record and to each epoch of its history: the mean IoU of ``classes``
    (each must be in every record)."""
    for records in groups.values():
        for record in records:
            missing = [c for c in classes if f"{stage}/IoU/{c}" not in record]
            if missing:
                raise KeyError(f"{record['_path']} has no {stage}/IoU for class(es) {missing}")
            record[class_mean_key(stage)] = statistics.mean(record[f"{stage}/IoU/{c}"] for c in classes)
            for entry in record.get("history", []) if stage == "val" else []:
                missing = [c for c in classes if f"val/IoU/{c}" not in entry]
                if missing:
                    raise KeyError(f"{record['_path']}: history epoch {entry['epoch'] + 1} has no val/IoU for "
                                   f"class(es) {missing}")
                entry[class_mean_key(stage)] = statistics.mean(entry[f"val/IoU/{c}"] for c in classes)


def _history(record: dict) -> list[dict]:
    if not record.get("history"):
        raise KeyError(f"{record['_path']} has no per-epoch history (written by an older encnet-train, or no "
                       "validation)")
    return record["history"]


def at_epoch(groups: dict[str, list[dict]], epoch: int) -> None:
    """Replace every record's ``val/`` metrics by those its history logged after ``epoch`` epochs (1-based)."""
    for records in groups.values():
        for record in records:
            entries = {e["epoch"] + 1: e for e in _history(record)}
            if epoch not in entries:
                raise ValueError(f"--epoch {epoch}: {record['_path']} has validated epochs "
                                 f"{min(entries)}–{max(entries)} only")
            for key in [k for k in record if k.startswith("val/")]:
                del record[key]
            record.update({k: v for k, v in entries[epoch].items() if k.startswith("val/")})


def interval(values: list[float]) -> tuple[float, float | None, float | None]:
    """Mean and its 95 % t-interval (None for fewer than two values, or bounds equal to the mean)."""
    mean = statistics.mean(values)
    if len(values) < 2:
        return mean, None, None
    sem = statistics.stdev(values) / len(values) ** 0.5
    if sem == 0:
        return mean, mean, mean
    low, high = stats.t.interval(CONFIDENCE, len(values) - 1, loc=mean, scale=sem)
    return mean, float(low), float(high)


def parse_baseline(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key or not value:
        raise ValueError(f"--baseline must be KEY=VALUE (e.g. model=fcn), got {text!r}")
    return key, value


def paired_differences(groups: dict[str, list[dict]], baseline: str, metrics: tuple[str, ...]) -> list[dict]:
    """Per configuration that has a baseline (the configuration with ``KEY=VALUE`` in place of its own value of
    KEY): the pairs shared with it and, per metric, the mean paired difference in % points with its 95 %
    t-interval (:func:`interval`), or None when no pair holds the metric. [] when no configuration differs from
    one with ``KEY=VALUE`` in KEY only (e.g. FCN runs alone)."""
    key, value = parse_baseline(baseline)
    token = f"{key}={value}"
    configs = {frozenset(name.split()): name for name in groups}
    if not any(token in tokens for tokens in configs):
        raise ValueError(f"--baseline {token}: no configuration has it; configurations: {sorted(groups)}")
    rows = []
    for tokens, name in configs.items():
        if token in tokens:
            continue
        others = frozenset(t for t in tokens if t.split("=", 1)[0] != key)
        base = configs.get(others | {token}) or configs.get(
            frozenset(t for t in others if not t.startswith(f"{key}.")) | {token})
        if base is None:
            continue
        ours = {pair_key(r): r for r in groups[name]}
        theirs = {pair_key(r): r for r in groups[base]}
        shared = [k for k in ours if k in theirs]
        row: dict[str, Any] = {"config": name, "baseline": base, "pairs": shared}
        for metric in metrics:
            diffs = [percent(metric) * (ours[k][metric] - theirs[k][metric]) for k in shared
                     if metric in ours[k] and metric in theirs[k]]
            row[metric] = (*interval(diffs), len(diffs)) if diffs else None
        rows.append(row)
    return rows


def format_difference(cell: tuple | None) -> str:
    """``+1.25 [−0.40, +2.90]`` (mean and 95 % interval), ``+1.25 (1 pair)``, or ``–``."""
    if cell is None:
        return "–"
    mean, low, high, _ = cell
    return f"{mean:+.2f} (1 pair)" if low is None else f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]"


def curve_series(groups: dict[str, list[dict]], metrics: tuple[str, ...]) -> dict[str, dict[str, list]]:
    """Per configuration: epochs (1-based) and, per metric, (mean, low, high) in % over the seeds whose history
    has that epoch."""
    series = {}
    for name, records in groups.items():
        by_epoch: dict[int, list[dict]] = defaultdict(list)
        for record in records:
            for entry in _history(record):
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


def summarise(groups: dict[str, list[dict]], metrics: tuple[str, ...] = METRICS) -> list[dict]:
    """One row per configuration: n, seeds, and mean/std (in %) of each metric."""
    rows = []
    for name, records in groups.items():
        row = {"config": name, "n": len(records), "seeds": sorted(r.get("seed") for r in records)}
        for metric in metrics:
            row[metric] = _mean_std([percent(metric) * r[metric] for r in records if metric in r])
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
            series[key][metric] = [_mean_std([percent(metric) * r[metric] for r in by_value[x]]) for x in xs]
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


def _label(metric: str, classes: list[str]) -> str:
    stage, _, name = metric.partition("/")
    return f"{stage} mean IoU of {', '.join(classes)}" if name == "IoU/mean" else metric


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", type=Path, nargs="+", metavar="DIR",
                        help="directories searched recursively for metrics.json (their runs are pooled)")
    parser.add_argument("--metric", nargs="+", metavar="KEY",
                        help="summary metrics to report, e.g. test/mIoU (default: those the files hold)")
    parser.add_argument("--classes", nargs="*", default=[], help="also report the IoU of these classes")
    parser.add_argument("--mean-of", nargs="*", default=[], metavar="CLASS",
                        help="also report the mean IoU of these classes (e.g. the ambiguous ones)")
    parser.add_argument("--epoch", type=int, metavar="N", help="report the val metrics after N epochs (history)")
    parser.add_argument("--baseline", metavar="KEY=VALUE", help="paired differences to this configuration")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables (for the README)")
    parser.add_argument("--plot", type=Path, metavar="FILE.png", help="plot the metrics against each swept key")
    parser.add_argument("--curves", type=Path, metavar="FILE.png", help="plot val metrics against epoch")
    args = parser.parse_args(argv)
    if args.baseline:
        parse_baseline(args.baseline)  # a malformed value fails before any file is read
    groups = collect(*args.roots)
    where = " ".join(map(str, args.roots))
    if args.epoch is not None:
        at_epoch(groups, args.epoch)
    detected = detect_metrics(groups)
    for metric in args.metric or []:
        if not any(metric in r for rs in groups.values() for r in rs):
            raise KeyError(f"--metric {metric}: no metrics.json under {where} holds it "
                           f"(they hold {list(detected)})")
    metrics = tuple(args.metric or detected)
    stages = [s for s in STAGES if any(m.startswith(f"{s}/") for m in metrics)]
    metrics = (*metrics, *(f"{s}/IoU/{c}" for s in stages for c in args.classes))
    for stage in stages if args.mean_of else []:
        add_class_mean({k: [r for r in rs if any(m.startswith(f"{stage}/") for m in r)] for k, rs in groups.items()},
                       args.mean_of, stage)
        metrics = (*metrics, class_mean_key(stage))
    names = [_label(m, args.mean_of) for m in metrics]
    labels = dict(zip(metrics, names))
    budget = f" at epoch {args.epoch}" if args.epoch is not None else ""
    short = {MEAN_OF: f"val mean IoU of {len(args.mean_of)} classes"}  # the classes would not fit an axis
    if args.plot:
        plot(sweep_series(groups, metrics), metrics, args.plot, f"{args.roots[-1].name}: mean ± std over seeds",
             labels | short)
        rich.print(f"plot written to {args.plot}")
    if args.curves:
        curves = tuple(m for m in metrics if m.startswith("val/") and "/IoU/" not in m or m == MEAN_OF)
        if not curves:
            raise ValueError("--curves plots val/ metrics (the per-epoch history holds val/ only); "
                             "pass --metric val/mIoU")
        plot_curves(curve_series(groups, curves), curves, args.curves,
                    f"{where}: mean ± 95 % CI over seeds", labels | short)
        rich.print(f"curves written to {args.curves}")
    rows = summarise(groups, metrics)
    cells = [[f"{r[m][0]:.2f} ± {r[m][1]:.2f}" if r[m] else "–" for m in metrics] for r in rows]
    diffs = paired_differences(groups, args.baseline, metrics) if args.baseline else []
    if args.markdown:
        print("| configuration | seeds | " + " | ".join(f"{m} (%)" for m in names) + " |")
        print("| --- " * (len(metrics) + 2) + "|")
        for r, c in zip(rows, cells):
            print(f"| `{r['config']}` | {r['n']} | " + " | ".join(c) + " |")
        if args.baseline and not diffs:
            print(f"\nNo configuration to compare with `{args.baseline}` yet.")
        if diffs:
            print(f"\n| configuration − `{args.baseline}`{budget} | pairs | "
                  + " | ".join(f"Δ {m} (points, 95 % CI)" for m in names) + " |")
            print("| --- " * (len(metrics) + 2) + "|")
            for d in diffs:
                print(f"| `{d['config']}` | {len(d['pairs'])} | "
                      + " | ".join(format_difference(d[m]) for m in metrics) + " |")
        return
    table = rich.table.Table(title=f"{where}{budget} (mean ± std over seeds, %)")
    for col in ("configuration", "seeds", *names):
        table.add_column(col)
    for r, c in zip(rows, cells):
        table.add_row(r["config"], str(r["seeds"]), *c)
    rich.print(table)
    if args.baseline and not diffs:
        rich.print(f"no configuration to compare with {args.baseline}")
    if diffs:
        table = rich.table.Table(
            title=f"paired difference to {args.baseline}{budget} (% points, mean [95 % t-interval])")
        for col in ("configuration", "baseline", "pairs", *names):
            table.add_column(col)
        for d in diffs:
            table.add_row(d["config"], d["baseline"], str(len(d["pairs"])), *(format_difference(d[m]) for m in metrics))
        rich.print(table)


if __name__ == "__main__":
    main()
