"""Trained models from checkpoint files: the task class a checkpoint holds, a segmentation model loaded from one
(checked against the dataset), weights loaded into a model for fine-tuning (``init_weights``), and a training
checkpoint reduced to what loading the model needs (``save_weights_only``)."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from encnet.infra.checkpoint_files import AtomicCheckpointIO, require_checkpoint
from encnet.tasks.segmentation import SegmentationTask


def task_kind(path: Path) -> str:
    """The task class that wrote the (whole) checkpoint at ``path``: ``SegmentationTask``, ``ClassificationTask``."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    if "encnet_task" in checkpoint:
        return checkpoint["encnet_task"]
    hparams = checkpoint.get("hyper_parameters", {})
    return "SegmentationTask" if "arch" in hparams else "ClassificationTask" if hparams else "unknown"


def load_task(ckpt_path: str | Path, num_classes: int | None = None, **overrides: Any) -> SegmentationTask:
    """The SegmentationTask saved in ``ckpt_path`` (on the CPU, in eval mode), checked against the dataset's
    ``num_classes`` when given; ``overrides`` (``inference``, ``class_names`` …) replace saved arguments."""
    path = require_checkpoint(ckpt_path)
    kind = task_kind(path)
    if kind != "SegmentationTask":
        raise ValueError(f"ckpt_path={ckpt_path} holds a {kind} (e.g. a CIFAR classifier), not a segmentation "
                         "model; a classifier's test error is in its training run's metrics.json "
                         "(test_after_fit=true)")
    try:
        task = SegmentationTask.load_from_checkpoint(path, map_location="cpu", **overrides)
    except pickle.UnpicklingError:
        raise ValueError(f"ckpt_path={ckpt_path} holds objects torch.load(weights_only=True) refuses; it was not "
                         "written by this version of encnet-train") from None
    except (KeyError, TypeError, RuntimeError) as err:
        raise ValueError(f"ckpt_path={ckpt_path} is not an encnet segmentation checkpoint: {err}") from None
    if num_classes is not None and task.hparams.num_classes != num_classes:
        raise ValueError(f"ckpt_path={ckpt_path} predicts {task.hparams.num_classes} classes but "
                         f"data.num_classes={num_classes}; pick the dataset config it was trained on")
    return task.eval()


def load_weights(model: pl.LightningModule, ckpt_path: str | Path) -> None:
    """Initialise ``model`` from the weights of a Lightning checkpoint (fine-tuning; no optimiser state)."""
    path = require_checkpoint(ckpt_path, key="init_weights")
    state = torch.load(path, map_location="cpu", weights_only=True).get("state_dict")
    if state is None:
        raise ValueError(f"init_weights={ckpt_path} has no state_dict (not a Lightning checkpoint)")
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"init_weights={ckpt_path} does not fit this model: {err}") from None


# What load_task needs of a Lightning checkpoint: the weights, the task's arguments and its kind, and where
# training had got to; not the optimizer, loop, callback or random state.
WEIGHTS_ONLY_KEYS = ("epoch", "global_step", "pytorch-lightning_version", "state_dict", "hparams_name",
                     "hyper_parameters", "encnet_task")


def save_weights_only(ckpt_path: str | Path, out: str | Path) -> None:
    """Write the checkpoint ``ckpt_path`` to ``out`` with only its ``WEIGHTS_ONLY_KEYS`` (a 24-epoch study run:
    ≈ 7 MB → ≈ 3 MB); it still loads with :func:`load_task` and ``torch.load(weights_only=True)``."""
    checkpoint = torch.load(require_checkpoint(ckpt_path), map_location="cpu", weights_only=False)
    if "state_dict" not in checkpoint:
        raise ValueError(f"ckpt_path={ckpt_path} has no state_dict (not a Lightning checkpoint)")
    AtomicCheckpointIO().save_checkpoint({key: checkpoint[key] for key in WEIGHTS_ONLY_KEYS if key in checkpoint}, out)
