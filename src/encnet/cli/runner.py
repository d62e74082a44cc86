"""What the Hydra apps (``encnet-train``, ``-eval``, ``-predict``, ``-export``, ``-check-data``) share: starting a
run (quiet dependencies, a writable output directory, the printed config, the seed), instantiating config groups
and the trainer, ending the loggers' runs, and the final report (written and printed by rank zero only).

Importing it registers the dataset configs' resolvers (:mod:`encnet.data`), so an app resolves any config.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import LearningRateMonitor, ProgressBar
from pytorch_lightning.loggers import WandbLogger

import encnet.data  # noqa: F401  (registers the dataset configs' resolvers)
from encnet.infra.console import quiet_dependencies
from encnet.infra.distributed import check_launch
from encnet.infra.outputs import require_writable
from encnet.infra.reports import metrics_record, print_config, print_metrics, write_metrics


def start(cfg: DictConfig, order: tuple[str, ...] = ("data", "model", "trainer", "callbacks", "logger")) -> Path:
    """Begin a run: quiet the dependencies, check the output directory, print the config (``print_config``),
    seed everything (when the config has a ``seed``). Returns the output directory."""
    quiet_dependencies()
    output_dir = require_writable(cfg.paths.output_dir)
    if cfg.get("print_config", False):
        print_config(cfg, order=order)
    if cfg.get("seed") is not None:
        pl.seed_everything(cfg.seed, workers=True, verbose=False)
    return output_dir


def instantiate_all(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a dict-of-configs group (``callbacks``, ``logger``); ``None`` → []."""
    return [instantiate(c) for c in (group or {}).values() if c is not None and "_target_" in c]


def build_trainer(cfg: DictConfig, callbacks: list[pl.Callback] | None = None) -> pl.Trainer:
    """The trainer of ``cfg.trainer`` with ``cfg.logger``'s loggers (which get the resolved config) and
    ``callbacks`` (default: ``cfg.callbacks``); the progress-bar switch and ``logger=none`` win over callbacks."""
    loggers = instantiate_all(cfg.get("logger"))
    callbacks = instantiate_all(cfg.get("callbacks")) if callbacks is None else callbacks
    if not loggers:  # nothing to monitor the learning rate into
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    if not cfg.trainer.get("enable_progress_bar", True):
        callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)]
    trainer: pl.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers)
    check_launch(trainer)  # a DDP run that re-runs the command line cannot be a multirun job
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    return trainer


def finish_loggers(loggers: list[Any]) -> None:
    """End the wandb run of ``loggers``, so that the next run in this process (a multirun job, an Optuna trial)
    gets a wandb run of its own instead of reusing this one."""
    if any(isinstance(logger, WandbLogger) for logger in loggers):
        import wandb

        if wandb.run is not None:
            wandb.finish()


def report(trainer: pl.Trainer, output_dir: Path, results: Mapping[str, Any], extra: Mapping[str, Any],
           stages: tuple[str, ...] = ("val",)) -> dict[str, Any]:
    """End the loggers' runs; write ``metrics.json`` and print each stage's metrics (rank zero only, so a
    DDP run writes and prints once). Returns the record (on every rank)."""
    finish_loggers(trainer.loggers)
    if not trainer.is_global_zero:
        return metrics_record(results, extra)
    path = output_dir / "metrics.json"
    record = write_metrics(path, results, extra)
    for stage in stages:
        print_metrics(results, path if stage == stages[-1] else None, stage=stage)
    return record
