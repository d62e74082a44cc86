"""Training entry point (``encnet-train``, ``python -m encnet.train``): compose → instantiate → fit → validate
(→ test, with ``test_after_fit=true``).

Any Hydra override works on top, e.g. ``encnet-train model=fcn trainer.max_epochs=3``, and ``-m`` sweeps
(``encnet-train -m model.se_loss_weight=0,0.2,0.8``); each run writes ``metrics.json`` in its output dir.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import LearningRateMonitor, ProgressBar

from encnet.config import CONFIG_DIR
from encnet.console import quiet_dependencies
from encnet.distributed import check_launch
from encnet.entrypoint import finish_loggers, instantiate_all
from encnet.reporting import print_config, print_metrics, write_metrics


def load_weights(model: pl.LightningModule, ckpt_path: str) -> None:
    """Initialise ``model`` from the weights of a Lightning checkpoint (fine-tuning; no optimiser state)."""
    path = Path(ckpt_path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"init_weights={ckpt_path}: no such checkpoint file")
    state = torch.load(path, map_location="cpu", weights_only=True).get("state_dict")
    if state is None:
        raise ValueError(f"init_weights={ckpt_path} has no state_dict (not a Lightning checkpoint)")
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"init_weights={ckpt_path} does not fit this model: {err}") from None


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit ``cfg.model`` on ``cfg.data``, validate (and with ``cfg.test_after_fit`` test) the final weights,
    write and return ``metrics.json``."""
    quiet_dependencies()
    if cfg.get("print_config", True):
        print_config(cfg)
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model)
    if cfg.get("init_weights"):
        load_weights(model, cfg.init_weights)
    loggers = instantiate_all(cfg.get("logger"))
    callbacks = instantiate_all(cfg.get("callbacks"))
    if not loggers:  # `logger=none`: nothing to monitor the learning rate into
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    if not cfg.trainer.get("enable_progress_bar", True):  # the switch wins over callbacks' progress bar
        callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)]
    trainer: pl.Trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=loggers)
    check_launch(trainer)
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))

    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    results = trainer.validate(model, datamodule=datamodule, verbose=False)[0]
    if cfg.get("test_after_fit", False):
        results |= trainer.test(model, datamodule=datamodule, verbose=False)[0]
    finish_loggers(loggers)

    hydra_cfg = HydraConfig.get()
    output_dir = Path(cfg.paths.output_dir)
    checkpoint = trainer.checkpoint_callback.last_model_path if trainer.checkpoint_callback else None
    record = write_metrics(
        output_dir / "metrics.json",
        results,
        {
            "seed": cfg.seed,
            "config_name": hydra_cfg.job.config_name,
            "choices": {k: v for k, v in hydra_cfg.runtime.choices.items() if not k.startswith("hydra")},
            "overrides": list(hydra_cfg.overrides.task),
            "checkpoint": checkpoint or None,
            "config": {k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k != "hydra"},
        },
    )
    if cfg.get("test_after_fit", False):
        print_metrics(results, stage="test")
    print_metrics(results, output_dir / "metrics.json")
    return record


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Hydra app; returns ``cfg.optimized_metric`` (for sweepers such as Optuna) when set."""
    record = train(cfg)
    metric = cfg.get("optimized_metric")
    return record.get(metric) if metric else None


if __name__ == "__main__":
    main()
