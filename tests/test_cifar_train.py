"""The CIFAR-10 experiments end to end through the Hydra app, on the tiny CIFAR-format fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from encnet.config import CONFIG_DIR
from encnet.tasks import ClassificationTask
from encnet.train import train

from .fixtures.cifar10 import cifar_root  # noqa: F401 (fixture)

EXPERIMENTS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("cifar_*.yaml"))


def cifar_tiny(root: Path) -> list[str]:
    """Overrides that make a CIFAR experiment CPU-instant on the fixture (which fails the official md5)."""
    return [
        f"data.root={root}", "data.verify_md5=false", "data.batch_size=4", "data.val_batch_size=8",
        "data.num_workers=0", "logger=none", "callbacks=none", "print_config=false",
        "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false",
    ]


def test_the_four_paper_experiments_exist():
    assert EXPERIMENTS == ["cifar_encnet_16k64d", "cifar_encnet_32k128d", "cifar_resnet_64d", "cifar_seresnet_64d"]


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_each_experiment_trains_fast_dev_run(compose_train, tmp_path, cifar_root, experiment):
    cfg = compose_train(f"experiment={experiment}", *cifar_tiny(cifar_root), "trainer.fast_dev_run=true", tiny=False)
    assert cfg.optimized_metric == "val/top1_err" and cfg.test_after_fit and cfg.trainer.max_epochs == 600
    assert cfg.model.get("shakeout", False) == ("encnet" in experiment)
    record = train(cfg)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(record))
    for stage in ("val", "test"):
        assert 0 <= saved[f"{stage}/top1_err"] <= 100 and saved[f"{stage}/loss"] > 0
    assert saved["choices"]["experiment"] == experiment


def test_checkpoint_reloads_and_monitors_top1_err(compose_train, cifar_root):
    cfg = compose_train(
        "experiment=cifar_encnet_16k64d", *cifar_tiny(cifar_root), "callbacks=default", "logger=csv", "model.width=8",
        "trainer.max_epochs=1", "trainer.limit_train_batches=2", "trainer.limit_val_batches=1",
        "trainer.enable_progress_bar=true", "trainer.enable_model_summary=true",
        tiny=False,
    )
    assert cfg.callbacks.model_checkpoint.monitor == "val/top1_err" and cfg.callbacks.model_checkpoint.mode == "min"
    record = train(cfg)
    task = ClassificationTask.load_from_checkpoint(record["checkpoint"])
    assert task.hparams.block == "encoding" and task.hparams.shakeout and task.hparams.width == 8
    assert {"val/top1_err", "test/top1_err"} <= record.keys()
