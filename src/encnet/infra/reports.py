"""Console and file reports of a run: the composed config as a rich tree, final metrics as a table and
as ``metrics.json``.

In a distributed run every process runs the entry point: the config is printed by global rank 0 only
(Lightning's ``rank_zero_only``, whose rank is known from the environment before the trainer exists), and
:func:`encnet.cli.runner.report` writes and prints the results on rank 0 only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import rich
import rich.syntax
import rich.table
import rich.tree
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities import rank_zero_only

from encnet.infra.outputs import write_text


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


def metrics_record(metrics: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``metrics`` (tensors → floats, sorted by name) followed by ``extra`` (seed, config name …)."""
    return {k: to_float(v) for k, v in sorted(metrics.items())} | dict(extra)


def write_metrics(path: Path, metrics: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """Write :func:`metrics_record` of ``metrics`` and ``extra`` to ``path`` as JSON; return it."""
    record = metrics_record(metrics, extra)
    write_text(path, json.dumps(record, indent=2) + "\n")
    return record


# Summary metrics printed by `print_metrics`, with the factor that turns each into a percentage
# (top1_err is logged in % already).
SUMMARY_METRICS = {"pixAcc": 100.0, "mIoU": 100.0, "mIoU_excl_background": 100.0, "top1_err": 1.0}


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
