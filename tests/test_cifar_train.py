"""The CIFAR-10 experiments end to end through the Hydra app, on the tiny CIFAR-format fixture."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
from hydra.utils import instantiate
from omegaconf import DictConfig

from encnet.cli.train import run as train
from encnet.data import cifar10
from encnet.infra.config import CONFIG_DIR
from encnet.tasks import ClassificationTask

from .fixtures.cifar10 import cifar_root  # noqa: F401 (fixture)

EXPERIMENTS = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("cifar_*.yaml"))


def cifar_tiny(root: Path) -> list[str]:
    """Overrides that make a CIFAR experiment CPU-instant on the fixture (which fails the official md5)."""
    return [
        f"data.root={root}", "data.verify_md5=false", "data.val_size=40", "data.batch_size=4", "data.val_batch_size=8",
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


def _spy_reads(monkeypatch) -> list[str]:
    """What the run reads, in order: batch file names and, per image, ``item:<split>``."""
    events: list[str] = []
    read, getitem = cifar10.read_batch, cifar10.CIFAR10.__getitem__
    monkeypatch.setattr(cifar10, "read_batch", lambda path, md5=None: events.append(path.name) or read(path, md5))
    monkeypatch.setattr(cifar10.CIFAR10, "__getitem__",
                        lambda ds, i: events.append(f"item:{ds.split}") or getitem(ds, i))
    return events


def _all_50000(compose_train, root) -> DictConfig:
    """The paper's protocol at test size: data.val_size=0, the default callbacks (checkpoints)."""
    return compose_train(
        "experiment=cifar_encnet_16k64d", *cifar_tiny(root), "data.val_size=0", "callbacks=default",
        "model.width=8", "trainer.max_epochs=2", "trainer.limit_train_batches=2",
        tiny=False,
    )


def _assert_test_batch_read_after_training(events: list[str]) -> None:
    last_train = max(i for i, e in enumerate(events) if e == "item:train")
    assert "item:test" in events and events.index("test_batch") > last_train, events[:3] + events[-3:]


def test_val_size_zero_fits_without_validation_then_tests(compose_train, cifar_root, monkeypatch):
    """What encnet-train does with data.val_size=0: no validation, the last epoch's checkpoint, then test."""
    cfg = _all_50000(compose_train, cifar_root)
    assert cfg.callbacks.model_checkpoint.monitor is None
    events = _spy_reads(monkeypatch)
    datamodule, task = instantiate(cfg.data), instantiate(cfg.model)
    trainer = instantiate(cfg.trainer, callbacks=[instantiate(cfg.callbacks.model_checkpoint),
                                                  instantiate(cfg.callbacks.last_checkpoint)], logger=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*monitor.*")  # e.g. "could not find the monitored key"
        trainer.fit(task, datamodule=datamodule)
    assert trainer.checkpoint_callback.monitor is None and sum(trainer.num_val_batches) == 0
    assert Path(trainer.checkpoint_callbacks[1].best_model_path).name == "last.ckpt"
    assert Path(trainer.checkpoint_callback.best_model_path).name == "epoch001.ckpt"  # the final epoch
    assert "test_batch" not in events
    results = trainer.test(task, datamodule=datamodule, verbose=False)[0]
    assert 0 <= results["test/top1_err"] <= 100
    _assert_test_batch_read_after_training(events)


def test_val_size_zero_trains_and_tests_through_train(compose_train, tmp_path, cifar_root, monkeypatch):
    events = _spy_reads(monkeypatch)
    record = train(_all_50000(compose_train, cifar_root))
    assert "val/top1_err" not in record and 0 <= record["test/top1_err"] <= 100
    assert Path(record["checkpoint"]).name == "last.ckpt"
    _assert_test_batch_read_after_training(events)
