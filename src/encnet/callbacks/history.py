"""The per-epoch validation metrics of a fit, kept for ``metrics.json`` (learning curves) and in every checkpoint,
so that a resumed run's history holds the epochs before the interruption too."""

from __future__ import annotations

import time
from typing import Any

import pytorch_lightning as pl


class MetricsHistory(pl.Callback):
    """One entry per validated training epoch: ``epoch``, ``step``, every scalar metric logged under ``prefix``
    (``val/mIoU``, ``val/IoU/<class>`` …) and ``seconds``, the wall time of the epoch's training and validation.
    The final ``trainer.validate`` after fitting adds nothing (it repeats the last epoch's weights)."""

    def __init__(self, prefix: str = "val/") -> None:
        self.prefix = prefix
        self.epochs: list[dict[str, Any]] = []
        self._started: float | None = None

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._started = time.perf_counter()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or trainer.state.fn != "fit":
            return
        entry: dict[str, Any] = {"epoch": trainer.current_epoch, "step": trainer.global_step}
        entry |= {k: float(v) for k, v in sorted(trainer.callback_metrics.items())
                  if k.startswith(self.prefix) and v.numel() == 1}
        if self._started is not None:
            entry["seconds"] = round(time.perf_counter() - self._started, 2)
        self.epochs.append(entry)

    def state_dict(self) -> dict[str, Any]:
        return {"epochs": self.epochs}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.epochs = list(state_dict["epochs"])
