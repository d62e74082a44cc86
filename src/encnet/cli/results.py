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
    encnet-results DIR --stability                       # + how far the val curves fall back between epochs
    encnet-results DIR1 DIR2 --baseline model.warmup_steps   # against the same configuration without it
    encnet-results DIR --metric test/mIoU                # the metrics to report (default: detected)
    encnet-results DIR1 DIR2 --baseline model=fcn        # the runs of several studies pooled

Metrics (``--metric``, default: whichever of ``val/``, ``test/`` × ``mIoU``, ``pixAcc``, ``top1_err`` the files
hold) are shown in % (``top1_err`` is logged in % already). ``--baseline KEY=VALUE``: each configuration is
compared with the one that differs from it only in ``KEY=VALUE`` (``model=fcn``: ``model=encnet x=1`` against
``model=fcn x=1``), else, where there is none, with the one that also lacks its ``KEY.*`` overrides (they
belong to its own choice of KEY: ``model=encnet model.num_codes=0`` against ``model=fcn``); a configuration
with ``KEY=VALUE`` itself is compared with the same without its ``KEY.*`` overrides (``--baseline model=encnet``:
``model=encnet model.num_codes=0`` against ``model=encnet``); over the pairing keys both have; mean difference
and its 95 % t-interval over the pairs, with the number of pairs. ``--baseline KEY`` (no value): each
configuration that overrides KEY against the one that differs from it only in not overriding KEY
(``model=fcn model.warmup_steps=124`` against ``model=fcn``).

``--stability``: per run, from its history of val/mIoU (and of the ``--mean-of`` mean), the largest fall from
one epoch to the next and the sum of all falls (0 for a curve that only climbs), in points, reported and
compared like the other metrics.

``--plot`` draws one column per swept config key (a key some run overrides, e.g. ``model.se_loss_weight``):
it holds the runs that override nothing but that key (runs that override nothing sit at the key's default),
at the key's value read from the run's saved model config; points are mean ± std over seeds.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import rich
import rich.table

from encnet.study.curves import FALLS, add_falls, curve_series, plot_curves
from encnet.study.records import MEAN_OF, STAGES, add_class_mean, at_epoch, class_mean_key, collect, detect_metrics
from encnet.study.statistics import format_difference, paired_differences, parse_baseline, summarise
from encnet.study.sweeps import plot, sweep_series


def _label(metric: str, classes: list[str]) -> str:
    base, _, fall = metric.rpartition("/")
    if fall in FALLS:
        return f"{_label(base, classes)}, {fall.replace('_', ' ')}"
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
    parser.add_argument("--baseline", metavar="KEY=VALUE",
                        help="paired differences to this configuration (a bare KEY: to the one without KEY)")
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables (for the README)")
    parser.add_argument("--plot", type=Path, metavar="FILE.png", help="plot the metrics against each swept key")
    parser.add_argument("--curves", type=Path, metavar="FILE.png", help="plot val metrics against epoch")
    parser.add_argument("--stability", action="store_true",
                        help="also report the largest and the total fall of the val curves between epochs")
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
    if args.stability:
        for curve in [m for m in metrics if m in ("val/mIoU", MEAN_OF)] or ["val/mIoU"]:
            metrics = (*metrics, *add_falls(groups, curve))
    names = [_label(m, args.mean_of) for m in metrics]
    labels = dict(zip(metrics, names))
    budget = f" at epoch {args.epoch}" if args.epoch is not None else ""
    against = f"`{args.baseline}`" if "=" in (args.baseline or "=") else f"the same without `{args.baseline}`"
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
            print(f"\n| configuration − {against}{budget} | pairs | "
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
            title=f"paired difference to {against.replace('`', '')}{budget} (% points, mean [95 % t-interval])")
        for col in ("configuration", "baseline", "pairs", *names):
            table.add_column(col)
        for d in diffs:
            table.add_row(d["config"], d["baseline"], str(len(d["pairs"])), *(format_difference(d[m]) for m in metrics))
        rich.print(table)


if __name__ == "__main__":
    main()
