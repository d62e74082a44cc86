"""``encnet-train`` (``python -m encnet.cli.train``): compose → instantiate → ``run(cfg)``: fit → validate (→ test,
with ``test_after_fit=true``) → ``metrics.json``.

Any Hydra override works on top, e.g. ``encnet-train model=fcn trainer.max_epochs=3``, and ``-m`` sweeps
(``encnet-train -m model.se_loss_weight=0,0.2,0.8``); each run writes ``metrics.json`` in its output dir.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from encnet.callbacks import MetricsHistory
from encnet.cli.runner import build_trainer, instantiate_all, report, start
from encnet.infra.checkpoint_files import latest_checkpoint, resume_path
from encnet.infra.config import CONFIG_DIR
from encnet.tasks.loading import load_weights


def run(cfg: DictConfig) -> dict[str, Any]:
    """Fit ``cfg.model`` on ``cfg.data`` (from scratch, or resumed from ``cfg.ckpt_path``), validate (and with
    ``cfg.test_after_fit`` test) the final weights, write and return ``metrics.json`` (with the per-epoch
    validation ``history``)."""
    output_dir = start(cfg)
    hydra_cfg = HydraConfig.get()
    ckpt_path = resume_path(cfg.ckpt_path, Path(cfg.paths.log_dir) / cfg.task_name, hydra_cfg.overrides.task)
    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model, **datamodule.dataset_info)
    if ckpt_path is None:  # a fresh start: ImageNet weights first, then a fine-tuning start over them
        model.load_initial_weights()
        if cfg.get("init_weights"):
            load_weights(model, cfg.init_weights)
    history = MetricsHistory()  # val metrics of every epoch → metrics.json["history"]
    trainer = build_trainer(cfg, callbacks=[*instantiate_all(cfg.get("callbacks")), history])

    trainer.fit(model, datamodule=datamodule, ckpt_path=ckpt_path)
    validated = trainer.validate(model, datamodule=datamodule, verbose=False)
    results = validated[0] if validated else {}  # no validation split (CIFAR with data.val_size=0)
    if cfg.get("test_after_fit", False):
        results |= trainer.test(model, datamodule=datamodule, verbose=False)[0]

    checkpoint = latest_checkpoint(trainer)
    extra = {
        "seed": cfg.seed,
        "config_name": hydra_cfg.job.config_name,
        "choices": {k: v for k, v in hydra_cfg.runtime.choices.items() if not k.startswith("hydra")},
        "overrides": list(hydra_cfg.overrides.task),
        "resumed_from": str(ckpt_path) if ckpt_path else None,
        "checkpoint": checkpoint,
        "history": history.epochs,
        "config": {k: v for k, v in OmegaConf.to_container(cfg, resolve=True).items() if k != "hydra"},
    }
    stages = ("test", "val") if cfg.get("test_after_fit", False) else ("val",)
    return report(trainer, output_dir, results, extra, stages)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Hydra app; returns ``cfg.optimized_metric`` (for sweepers such as Optuna) when set."""
    record = run(cfg)
    metric = cfg.get("optimized_metric")
    return record.get(metric) if metric else None


if __name__ == "__main__":
    main()
