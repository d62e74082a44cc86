"""Finding trained models: the newest ``last.ckpt`` under log directories whose model fits a class count."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from encnet.entrypoint import load_task
from encnet.tasks import SegmentationTask


def checkpoints(log_dirs: Iterable[str | Path]) -> list[Path]:
    """Every ``last.ckpt`` of ``encnet-train`` runs and multiruns under ``log_dirs``, newest first."""
    found = [p for d in log_dirs for p in Path(d).expanduser().glob("train/**/checkpoints/last.ckpt")]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def newest_task(log_dirs: Iterable[str | Path], num_classes: int) -> tuple[SegmentationTask, Path] | None:
    """The newest checkpoint under ``log_dirs`` that loads as a segmentation model of ``num_classes`` classes
    (on the CPU, in eval mode), with its path; ``None`` when there is none."""
    for path in checkpoints(log_dirs):
        try:
            return load_task(str(path), num_classes), path
        except (ValueError, OSError):  # another class count, or written by another version: skip it
            continue
    return None
