"""What the Hydra apps (``encnet-train``, ``-eval``, ``-predict``, ``-export``) share: instantiating config
groups, ending the loggers' runs, and loading a trained checkpoint."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from hydra.utils import instantiate
from omegaconf import DictConfig
from pytorch_lightning.loggers import WandbLogger

from encnet.tasks import SegmentationTask


def instantiate_all(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a dict-of-configs group (``callbacks``, ``logger``); ``None`` → []."""
    return [instantiate(c) for c in (group or {}).values() if c is not None and "_target_" in c]


def finish_loggers(loggers: list[Any]) -> None:
    """End the wandb run of ``loggers``, so that the next run in this process (a multirun job, an Optuna trial)
    gets a wandb run of its own instead of reusing this one."""
    if any(isinstance(logger, WandbLogger) for logger in loggers):
        import wandb

        if wandb.run is not None:
            wandb.finish()


def load_task(ckpt_path: str, num_classes: int | None = None) -> SegmentationTask:
    """The SegmentationTask saved in ``ckpt_path`` (on the CPU, in eval mode), checked against the dataset's
    ``num_classes`` when given."""
    path = Path(ckpt_path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"ckpt_path={ckpt_path}: no such checkpoint file")
    try:
        task = SegmentationTask.load_from_checkpoint(path, map_location="cpu")
    except pickle.UnpicklingError:
        raise ValueError(f"ckpt_path={ckpt_path} holds objects torch.load(weights_only=True) refuses; it was not "
                         "written by this version of encnet-train") from None
    except (KeyError, TypeError, RuntimeError) as err:
        raise ValueError(f"ckpt_path={ckpt_path} is not an encnet segmentation checkpoint: {err}") from None
    if num_classes is not None and task.hparams.num_classes != num_classes:
        raise ValueError(f"ckpt_path={ckpt_path} predicts {task.hparams.num_classes} classes but "
                         f"data.num_classes={num_classes}; pick the dataset config it was trained on")
    return task.eval()
