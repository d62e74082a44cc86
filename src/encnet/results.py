"""``encnet-results DIR``: aggregate the ``metrics.json`` of a sweep into mean ± std per configuration.

Runs are grouped by their Hydra overrides with ``seed`` removed (and their model choice), so
``encnet-train -m model.se_loss_weight=0,0.2 seed=0,1,2`` gives one row per α over three seeds.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

import rich
import rich.table

METRICS = ("val/mIoU", "val/pixAcc")


def collect(root: Path) -> dict[str, list[dict]]:
    """metrics.json files under ``root`` grouped by configuration (model choice + overrides, seed excluded)."""
    files = sorted(root.rglob("metrics.json"))
    if not files:
        raise FileNotFoundError(f"no metrics.json under {root}")
    groups: dict[str, list[dict]] = defaultdict(list)
    for file in files:
        record = json.loads(file.read_text())
        overrides = [o for o in record.get("overrides", []) if not o.startswith(("seed=", "model="))]
        model = record.get("choices", {}).get("model", "?")
        groups[" ".join([f"model={model}", *overrides])].append(record)
    return dict(groups)


def summarise(groups: dict[str, list[dict]], metrics: tuple[str, ...] = METRICS) -> list[dict]:
    """One row per configuration: n, seeds, and mean/std (in %) of each metric."""
    rows = []
    for name, records in groups.items():
        row = {"config": name, "n": len(records), "seeds": sorted(r.get("seed") for r in records)}
        for metric in metrics:
            values = [100 * r[metric] for r in records if metric in r]
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            row[metric] = (statistics.mean(values), std) if values else None
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="directory searched recursively for metrics.json")
    parser.add_argument("--classes", nargs="*", default=[], help="also report val/IoU/<class> for these")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table (for the README)")
    args = parser.parse_args(argv)
    metrics = (*METRICS, *(f"val/IoU/{c}" for c in args.classes))
    rows = summarise(collect(args.root), metrics)
    cells = [[f"{r[m][0]:.2f} ± {r[m][1]:.2f}" if r[m] else "–" for m in metrics] for r in rows]
    if args.markdown:
        print("| configuration | seeds | " + " | ".join(f"{m} (%)" for m in metrics) + " |")
        print("| --- " * (len(metrics) + 2) + "|")
        for r, c in zip(rows, cells):
            print(f"| `{r['config']}` | {r['n']} | " + " | ".join(c) + " |")
        return
    table = rich.table.Table(title=f"{args.root} (mean ± std over seeds, %)")
    for col in ("configuration", "seeds", *metrics):
        table.add_column(col)
    for r, c in zip(rows, cells):
        table.add_row(r["config"], str(r["seeds"]), *c)
    rich.print(table)


if __name__ == "__main__":
    main()
