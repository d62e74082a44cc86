"""``encnet-eval`` (``python -m encnet.cli.evaluate``): compose → ``run(cfg)``: load → test → ``metrics.json``.

    encnet-eval ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt
    encnet-eval ckpt_path=... data=ade20k data.root=/data/ADEChallengeData2016 \\
        eval.scales=[0.5,0.75,1.0,1.25,1.5,1.75] eval.flip=true

The checkpoint's SegmentationTask runs ``cfg.eval`` (:class:`encnet.inference.MultiScaleInference`) on every
image of ``data.test_split`` at its original resolution; pixAcc, mIoU and per-class IoU over the whole split
go to ``metrics.json`` and the confusion matrix to ``confusion_matrix.csv`` in the run's output directory.
"""

from __future__ import annotations

from typing import Any

import hydra
import numpy as np
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.callbacks import RichProgressBar

from encnet.cli.runner import build_trainer, report, start
from encnet.infra.config import CONFIG_DIR
from encnet.tasks.loading import load_task


def run(cfg: DictConfig) -> dict[str, Any]:
    """Test ``cfg.ckpt_path`` on ``cfg.data`` with ``cfg.eval``; write and return ``metrics.json``."""
    output_dir = start(cfg, order=("data", "eval", "trainer"))
    datamodule = instantiate(cfg.data)
    task = load_task(cfg.ckpt_path, cfg.data.num_classes, inference=instantiate(cfg.eval), **datamodule.dataset_info)
    trainer = build_trainer(cfg, callbacks=[RichProgressBar()])
    results = trainer.test(task, datamodule=datamodule, verbose=False)[0]
    if trainer.is_global_zero:
        np.savetxt(output_dir / "confusion_matrix.csv", task.confusion["test"].numpy(), fmt="%d", delimiter=",",
                   header=",".join(task.class_names()))
    extra = {
        "ckpt_path": str(cfg.ckpt_path),
        "model": task.hparams.arch,  # the checkpoint's network (encnet-results rows are per model)
        "split": cfg.data.get("test_split", "val"),
        "eval": OmegaConf.to_container(cfg.eval, resolve=True),
        "seed": cfg.seed,
        # what encnet-results groups evaluations by (ckpt_path aside: evaluations pair by checkpoint)
        "overrides": list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else [],
    }
    return report(trainer, output_dir, results, extra, stages=("test",))


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="eval")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
