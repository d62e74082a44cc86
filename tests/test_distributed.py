"""Distributed data parallel on the CPU (``trainer=ddp_cpu``): two real processes through the CLI, their metrics
against one process's on the same weights, and what each process may print, write and generate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest
import pytorch_lightning as pl
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from omegaconf import read_write
from pytorch_lightning.strategies import DDPStrategy
from torch.utils.data import TensorDataset

from encnet.cli.runner import report
from encnet.data.loaders import LoadersDataModule
from encnet.infra.distributed import check_launch
from encnet.infra.reports import print_config, rank_zero_only
from encnet.tasks.loading import load_task

from .conftest import TINY


def test_ddp_configs_compose(compose_train):
    cpu = compose_train("trainer=ddp_cpu").trainer
    assert (cpu.accelerator, cpu.devices, cpu.num_nodes, cpu.strategy) == ("cpu", 2, 1, "ddp")
    assert cpu.sync_batchnorm is False  # PyTorch's SyncBatchNorm is GPU-only
    trainer = instantiate(cpu, logger=False)
    assert isinstance(trainer.strategy, DDPStrategy) and trainer.world_size == 2
    assert trainer.strategy._get_process_group_backend() == "gloo"
    gpu = compose_train("trainer=ddp").trainer
    assert (gpu.accelerator, gpu.strategy, gpu.sync_batchnorm, gpu.num_nodes) == ("gpu", "ddp", True, 1)


def _as_multirun(cfg) -> None:
    with read_write(cfg.hydra):
        cfg.hydra.mode = "MULTIRUN"
    HydraConfig().set_config(cfg)


def test_multirun_of_a_relaunching_ddp_run_is_refused(compose_train, monkeypatch):
    """Lightning would start rank 1 by re-running the command line, i.e. the whole sweep: refused before fit."""
    from encnet.cli.train import run as train

    monkeypatch.setattr(pl.Trainer, "fit", lambda *a, **k: pytest.fail("reached Trainer.fit"))
    cfg = compose_train("trainer=ddp_cpu")
    _as_multirun(cfg)
    with pytest.raises(ValueError, match=r"DDPStrategy with trainer.devices=2 .* under -m \(multirun\)"):
        train(cfg)
    check_launch(instantiate(compose_train("trainer=ddp_cpu").trainer, logger=False))  # a single run is fine
    cfg = compose_train("trainer=ddp_cpu", "trainer.devices=1")
    _as_multirun(cfg)
    check_launch(instantiate(cfg.trainer, logger=False))  # one process: nothing is re-run


@pytest.mark.parametrize("rank", [0, 1])
def test_reports_come_from_rank_zero_only(tmp_path, capsys, monkeypatch, compose_train, rank):
    cfg = compose_train()
    monkeypatch.setattr(rank_zero_only, "rank", rank)  # what the strategy sets (and the environment, before it)
    print_config(cfg)
    trainer = SimpleNamespace(is_global_zero=rank == 0, loggers=[])
    record = report(trainer, tmp_path, {"val/mIoU": torch.tensor(0.5)}, {"seed": 0})
    assert record == {"val/mIoU": 0.5, "seed": 0}  # every rank gets the record (train returns it)
    written = sorted(p.name for p in tmp_path.iterdir())
    printed = capsys.readouterr().out
    if rank == 0:
        assert written == ["metrics.json"] and "config" in printed and "val results" in printed
    else:
        assert written == [] and printed == ""


class Loaders(LoadersDataModule):
    def __init__(self, batch_size: int = 2, val_batch_size: int = 2, num_workers: int = 0) -> None:
        super().__init__()
        self.save_hyperparameters()


def _seen(datamodule: Loaders, world_size: int, rank: int) -> list[int]:
    datamodule.trainer = SimpleNamespace(distributed_sampler_kwargs={"num_replicas": world_size, "rank": rank})
    return [int(i) for loader in (datamodule.val_dataloader(), datamodule.test_dataloader())
            for (batch,) in loader for i in batch]


@pytest.mark.parametrize("world_size", [2, 3])
def test_eval_loaders_give_each_image_to_one_process_once(world_size):
    datamodule = Loaders()
    datamodule.val_set = datamodule.test_set = TensorDataset(torch.arange(7))
    seen = sorted(i for rank in range(world_size) for i in _seen(datamodule, world_size, rank))
    assert seen == sorted(2 * list(range(7)))  # val and test: every image once, none repeated as padding


def test_eval_loaders_refuse_more_processes_than_images():
    datamodule = Loaders()
    datamodule.val_set = TensorDataset(torch.arange(3))
    with pytest.raises(ValueError, match=r"3 evaluation image\(s\), fewer than the 4 processes.*trainer.devices"):
        _seen(datamodule, 4, 0)


@pytest.mark.slow
def test_ddp_cpu_run_matches_one_process(tmp_path, compose_train):
    """Two processes train and validate (5 val images: an odd split); rank 0 alone prints, writes metrics.json
    and generates the dataset; one process validating the written last.ckpt gets the same metrics.

    One epoch: its validation always saves last.ckpt. (Lightning 2.6 rewrites last.ckpt only when the monitored
    checkpoint is saved, so after an epoch that does not improve val/mIoU, last.ckpt holds older weights.)"""
    data = [o for o in TINY if o.startswith("data.")] + ["data.num_val=5"]
    cache = tmp_path / "cache"
    env = {**os.environ, "ENCNET_CACHE_DIR": str(cache), "NO_ALBUMENTATIONS_UPDATE": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "encnet.cli.train", "trainer=ddp_cpu", *data, "model.backbone.width=0.125",
         "model.head_channels=16", "logger=none", "callbacks=default", "trainer.enable_progress_bar=false",
         "trainer.enable_model_summary=false", "trainer.max_epochs=1", "print_config=true",
         "hydra.verbose=encnet.data.context_scenes", f"hydra.run.dir={tmp_path}/run"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    out = proc.stdout  # both processes' (Lightning starts rank 1 with this process's stdout)
    assert proc.returncode == 0, (out + proc.stderr)[-4000:]
    assert "Starting with 2 processes" in proc.stdout + proc.stderr
    assert sorted(tmp_path.rglob("metrics.json")) == [tmp_path / "run" / "metrics.json"]
    lines = out.splitlines()
    assert lines.count("config") == 1 and out.count("val results") == 1 and out.count("metrics written to") == 1
    prepared = [line for line in lines if "context_scenes: " in line]
    assert len(prepared) >= 1 and all(line.endswith("(global rank 0)") for line in prepared), prepared
    assert sum("context_scenes: generated" in line for line in prepared) == 1, prepared
    ddp = json.loads((tmp_path / "run" / "metrics.json").read_text())

    cfg = compose_train(*data)
    cfg.paths.cache_dir = str(cache)
    task = load_task(ddp["checkpoint"], cfg.data.num_classes)
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    one = trainer.validate(task, datamodule=instantiate(cfg.data), verbose=False)[0]
    keys = {k for k in ddp if k.startswith("val/")}
    assert keys == set(one) and {"val/mIoU", "val/pixAcc", "val/IoU/sand"} <= keys
    # pixAcc, mIoU and per-class IoU come from integer counts: equal to the bit; the loss is a float mean
    assert {k: ddp[k] for k in keys - {"val/loss_ce"}} == {k: float(one[k]) for k in keys - {"val/loss_ce"}}
    assert ddp["val/loss_ce"] == pytest.approx(float(one["val/loss_ce"]), abs=1e-6)
    print(json.dumps({"ddp": {k: ddp[k] for k in sorted(keys)}, "one": {k: float(one[k]) for k in sorted(keys)}}))
