"""Checkpoint files: written atomically, checked whole before use, and found again (``ckpt_path=last``, every
``last.ckpt`` under the log directories). Loading one as a model is :mod:`encnet.tasks.loading`."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from lightning_fabric.plugins.io import TorchCheckpointIO
from omegaconf import OmegaConf

from encnet.infra.outputs import CountingFile, write_atomic


class AtomicCheckpointIO(TorchCheckpointIO):
    """Writes a checkpoint to a temporary file beside its destination, flushes it to disk, then renames it
    over the destination: a process killed at any moment leaves the previous checkpoint or the new one,
    never a truncated file (Lightning's own writer stages in ``$TMPDIR`` and copies across filesystems).
    A full disk is one :class:`encnet.infra.outputs.DiskFullError` naming the file and the bytes needed and free."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options, got {storage_options!r}")
        write_atomic(path, lambda file: torch.save(checkpoint, file), lambda: checkpoint_size(checkpoint))


def checkpoint_size(checkpoint: dict[str, Any]) -> int:
    """The bytes ``torch.save`` writes for ``checkpoint`` (serialised into a counting sink, nothing stored)."""
    sink = CountingFile()
    torch.save(checkpoint, sink)
    return sink.size


def latest_checkpoint(trainer: Any) -> str | None:
    """The file holding ``trainer``'s newest weights among those its checkpoint callbacks wrote (``last.ckpt``
    when another was written at the same time), or None."""
    written = [Path(p) for c in trainer.checkpoint_callbacks for p in (c.last_model_path, c.best_model_path) if p]
    written = [p for p in written if p.is_file()]
    return str(max(written, key=lambda p: (p.stat().st_mtime_ns, p.name == "last.ckpt"))) if written else None


def require_checkpoint(path: str | Path, key: str = "ckpt_path") -> Path:
    """``path`` as a Path once it is checked to be a whole checkpoint file; else one error naming ``key`` and
    the file (missing, truncated or corrupt: every member of the zip archive is CRC-checked, nothing unpickled)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise FileNotFoundError(f"{key}={path}: no such checkpoint file")
    try:
        with zipfile.ZipFile(file) as archive:
            broken = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise ValueError(f"{key}={path} is truncated or not a checkpoint ({err})") from None
    if broken is not None:
        raise ValueError(f"{key}={path} is corrupt: its member {broken} fails its CRC check")
    return file


def checkpoints(log_dirs: Iterable[str | Path], task_name: str = "train") -> list[Path]:
    """Every ``last.ckpt`` of ``task_name`` runs and multiruns under ``log_dirs``, newest first."""
    found = [p for d in log_dirs for p in Path(d).expanduser().glob(f"{task_name}/**/checkpoints/last.ckpt")]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def resume_path(ckpt_path: str | None, runs_dir: Path, overrides: Iterable[str]) -> Path | None:
    """The checkpoint ``encnet-train ckpt_path=...`` resumes from: ``None`` (a fresh start), a checked file, or
    for ``last`` the newest ``last.ckpt`` under ``runs_dir`` (``logs/train``, runs and multiruns) of a run made
    with the same overrides as this one (``ckpt_path`` aside): the newest run of the same experiment."""
    if ckpt_path is None:
        return None
    if str(ckpt_path) != "last":
        return require_checkpoint(ckpt_path)
    wanted = _experiment(overrides)
    for candidate in checkpoints([runs_dir.parent], runs_dir.name):
        saved = candidate.parent.parent / ".hydra" / "overrides.yaml"
        if saved.is_file() and _experiment(OmegaConf.load(saved)) == wanted:
            return require_checkpoint(candidate, key="ckpt_path (last)")
    raise FileNotFoundError(f"ckpt_path=last: no run under {runs_dir} with a checkpoints/last.ckpt was made with "
                            f"these overrides {sorted(wanted)}; give the checkpoint's path instead")


def _experiment(overrides: Iterable[str]) -> set[str]:
    """The overrides that define an experiment: all but ``ckpt_path`` and Hydra's own."""
    return {o for o in overrides if not o.lstrip("+~").startswith(("ckpt_path=", "hydra."))}
