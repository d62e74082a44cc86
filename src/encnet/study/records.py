"""Runs as records: every ``metrics.json`` under a directory, grouped by configuration (model choice + the
overrides that tell runs apart, seed excluded), paired by seed or, for ``encnet-eval`` runs, by checkpoint."""

from __future__ import annotations

import json
import re
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

METRICS = ("val/mIoU", "val/pixAcc")
MEAN_OF = "val/IoU/mean"
STAGES = ("val", "test")
NAMES = ("mIoU", "pixAcc", "top1_err")


def _natural(path: Path) -> list:
    """Sort key reading the numbers in a path as numbers: ``codes/8`` < ``codes/16`` < ``codes/64``."""
    return [(0, float(part), "") if i % 2 else (1, 0.0, part)
            for i, part in enumerate(re.split(r"(\d+(?:\.\d+)?)", str(path)))]


def collect(*roots: Path) -> dict[str, list[dict]]:
    """metrics.json files under ``roots`` (each must hold some) grouped by configuration: model choice + the
    overrides that tell runs apart (seed excluded, and overrides that every run shares, such as
    ``data.num_workers=0``)."""
    files = []
    for root in roots:
        found = sorted(Path(root).rglob("metrics.json"), key=_natural)  # codes/8 before codes/16
        if not found:
            raise FileNotFoundError(f"no metrics.json under {root}")
        files += found
    records = []
    for file in files:
        record = json.loads(file.read_text())
        record["_path"] = str(file)
        records.append(record)
    shared = set.intersection(*(set(config_overrides(r)) for r in records))
    groups: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        record["_varied"] = [o for o in config_overrides(record) if o not in shared]
        groups[" ".join([f"model={model_name(record)}", *record["_varied"]])].append(record)
    return dict(groups)


def model_name(record: dict) -> str:
    """The run's model config (a training run's Hydra choice; an ``encnet-eval`` run's checkpoint network)."""
    return record.get("choices", {}).get("model") or record.get("model", "?")


def config_overrides(record: dict) -> list[str]:
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


def history(record: dict) -> list[dict]:
    if not record.get("history"):
        raise KeyError(f"{record['_path']} has no per-epoch history (written by an older encnet-train, or no "
                       "validation)")
    return record["history"]


def at_epoch(groups: dict[str, list[dict]], epoch: int) -> None:
    """Replace every record's ``val/`` metrics by those its history logged after ``epoch`` epochs (1-based)."""
    for records in groups.values():
        for record in records:
            entries = {e["epoch"] + 1: e for e in history(record)}
            if epoch not in entries:
                raise ValueError(f"--epoch {epoch}: {record['_path']} has validated epochs "
                                 f"{min(entries)}–{max(entries)} only")
            for key in [k for k in record if k.startswith("val/")]:
                del record[key]
            record.update({k: v for k, v in entries[epoch].items() if k.startswith("val/")})


def config_value(record: dict, key: str) -> Any:
    """The value of dotted ``key`` (``model.num_codes``) in the run's saved config."""
    value: Any = record.get("config")
    if value is None:
        raise KeyError(f"{record['_path']} has no saved config (written by an older encnet-train)")
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"{record['_path']}: the saved config has no key {key!r}")
        value = value[part]
    return value
