"""Console and file reports of a run: the composed config as a rich tree, final metrics as a table and
as ``metrics.json``.

In a distributed run (``trainer=ddp``, ``trainer=ddp_cpu``, several SLURM tasks) every process runs the entry
point, so these reports are written and printed by the process of global rank 0 only (Lightning's
``rank_zero_only``); the metrics they report are already synchronised over all processes (torchmetrics states
are reduced on ``compute``). :func:`write_metrics` still returns the record on every rank.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import rich
import rich.syntax
import rich.table
import rich.tree
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities import rank_zero_only


@rank_zero_only
def print_config(cfg: DictConfig, order: tuple[str, ...] = ("data", "model", "trainer", "callbacks", "logger")) -> None:
    """Print the composed config as a tree, one branch per top-level group (``order`` first)."""
    tree = rich.tree.Tree("config", style="bold")
    keys = [k for k in order if k in cfg] + [k for k in cfg if k not in order]
    for key in keys:
        value = cfg[key]
        text = OmegaConf.to_yaml(value, resolve=False) if isinstance(value, DictConfig) else str(value)
        tree.add(f"[bold]{key}[/bold]").add(rich.syntax.Syntax(text, "yaml", theme="ansi_dark"))
    rich.print(tree)


def to_float(value: Any) -> Any:
    return float(value.item()) if hasattr(value, "item") else value


def write_metrics(path: Path, metrics: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Write ``metrics`` (tensors → floats) and ``extra`` (seed, config name …) to ``path`` as JSON (on global
    rank 0 only); return the record (on every rank)."""
    record = {k: to_float(v) for k, v in sorted(metrics.items())} | dict(extra)
    write_json(path, record)
    return record


@rank_zero_only
def write_json(path: Path, record: Mapping[str, Any]) -> None:
    """Write ``record`` to ``path`` as indented JSON (global rank 0 only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")


@rank_zero_only
def write_confusion(path: Path, confusion: Any, class_names: list[str]) -> None:
    """Write a num_classes×num_classes confusion matrix (rows: target) to ``path`` as CSV, the class names in
    its header (global rank 0 only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(path, np.asarray(confusion), fmt="%d", delimiter=",", header=",".join(class_names))


# Summary metrics printed by `print_metrics`, with the factor that turns each into a percentage
# (top1_err is logged in % already).
SUMMARY_METRICS = {"pixAcc": 100.0, "mIoU": 100.0, "mIoU_excl_background": 100.0, "top1_err": 1.0}


@rank_zero_only
def print_metrics(metrics: Mapping[str, Any], path: Path | None = None, stage: str = "val") -> None:
    """Print the per-class IoU (if any), then the stage's summary metrics (pixAcc, mIoU, top1_err) in %."""
    console = rich.get_console()
    summary = rich.table.Table(title=f"{stage} results")
    present = {f"{stage}/{name}": factor for name, factor in SUMMARY_METRICS.items() if f"{stage}/{name}" in metrics}
    for key in present:
        summary.add_column(key, justify="right")
    summary.add_row(*(f"{factor * to_float(metrics[k]):.2f}%" for k, factor in present.items()))
    prefix = f"{stage}/IoU/"
    if any(key.startswith(prefix) for key in metrics):
        per_class = rich.table.Table(title="per-class IoU")
        per_class.add_column("class")
        per_class.add_column("IoU", justify="right")
        for key, value in metrics.items():
            if key.startswith(prefix):
                per_class.add_row(key[len(prefix):], f"{100 * to_float(value):.2f}%")
        console.print(per_class)
    console.print(summary)
    if path:
        console.print(f"metrics written to {path}")
