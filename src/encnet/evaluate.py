"""Evaluation entry point (``encnet-eval``, ``python -m encnet.evaluate``): compose → load → test → metrics.json.

    encnet-eval ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt
    encnet-eval ckpt_path=... data=ade20k data.root=/data/ADEChallengeData2016 \\
        eval.scales=[0.5,0.75,1.0,1.25,1.5,1.75] eval.flip=true

The checkpoint's SegmentationTask runs ``cfg.eval`` (:class:`encnet.inference.MultiScaleInference`) on every
image of ``data.test_split`` at its original resolution; pixAcc, mIoU and per-class IoU over the whole split
go to ``metrics.json`` and the confusion matrix to ``confusion_matrix.csv`` in the run's output directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import RichProgressBar

from encnet.config import CONFIG_DIR
from encnet.console import quiet_dependencies
from encnet.distributed import check_launch
from encnet.entrypoint import finish_loggers, instantiate_all, load_task
from encnet.reporting import print_config, print_metrics, write_confusion, write_metrics


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Test ``cfg.ckpt_path`` on ``cfg.data`` with ``cfg.eval``; write and return ``metrics.json``."""
    quiet_dependencies()
    if cfg.get("print_config", True):
        print_config(cfg, order=("data", "eval", "trainer"))
    pl.seed_everything(cfg.seed, workers=True, verbose=False)
    task = load_task(cfg.ckpt_path, cfg.data.num_classes)
    datamodule = instantiate(cfg.data)
    task.inference = instantiate(cfg.eval)
    loggers = instantiate_all(cfg.get("logger"))
    progress = [RichProgressBar()] if cfg.trainer.get("enable_progress_bar", True) else []
    trainer: pl.Trainer = instantiate(cfg.trainer, logger=loggers, callbacks=progress)
    check_launch(trainer)
    for logger in loggers:
        logger.log_hyperparams(OmegaConf.to_container(cfg, resolve=True))
    results = trainer.test(task, datamodule=datamodule, verbose=False)[0]
    finish_loggers(loggers)

    output_dir = Path(cfg.paths.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    write_confusion(output_dir / "confusion_matrix.csv", task.confusion["test"].numpy(), task.class_names())
    record = write_metrics(
        output_dir / "metrics.json",
        results,
        {
            "ckpt_path": str(cfg.ckpt_path),
            "split": cfg.data.get("test_split", "val"),
            "eval": OmegaConf.to_container(cfg.eval, resolve=True),
            "seed": cfg.seed,
        },
    )
    print_metrics(results, output_dir / "metrics.json", stage="test")
    return record


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="eval")
def main(cfg: DictConfig) -> None:
    evaluate(cfg)


if __name__ == "__main__":
    main()
