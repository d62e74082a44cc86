"""The Hydra app end to end: every model config trains, metrics.json, checkpoints, wandb, multirun, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra.errors import ConfigCompositionException
from hydra.utils import get_class, instantiate
from omegaconf import OmegaConf

from encnet.cli.train import run as train
from encnet.data.context_scenes import CLASSES
from encnet.infra.config import CONFIG_DIR
from encnet.tasks import SegmentationTask
from encnet.tasks.loading import load_weights

from .conftest import TINY, assert_metrics_recount

# segmentation model configs (the cifar_* ones train in tests/test_cifar_train.py)
MODELS = sorted(p.stem for p in (CONFIG_DIR / "model").glob("[!_]*.yaml") if not p.stem.startswith("cifar_"))
TRAINERS = sorted(p.stem for p in (CONFIG_DIR / "trainer").glob("*.yaml"))


@pytest.mark.parametrize("model", MODELS)
def test_each_model_config_trains_fast_dev_run(compose_train, tmp_path, val_confusions, model):
    cfg = compose_train(f"model={model}", "trainer.fast_dev_run=true", "seed=3")
    record = train(cfg)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(record))
    assert len(val_confusions) == 2  # fit's validation batch, then the final weights' (what metrics.json holds)
    assert_metrics_recount(saved, val_confusions[-1], list(CLASSES), "val")
    assert {f"val/IoU/{c}" for c in ("sky", "sand", "door")} <= saved.keys()
    assert saved["seed"] == 3 and saved["config_name"] == "train" and saved["choices"]["model"] == model


# What each trainer config sets on top of default.yaml (default: its own distinctive settings).
TRAINER_SETTINGS = {
    "default": {"accelerator": "auto", "devices": 1, "num_nodes": 1, "precision": "32-true", "deterministic": False},
    "cpu": {"accelerator": "cpu"},
    "gpu": {"accelerator": "gpu", "precision": "bf16-mixed"},
    "ddp": {"accelerator": "gpu", "devices": -1, "strategy": "ddp", "sync_batchnorm": True, "precision": "bf16-mixed"},
    "ddp_cpu": {"accelerator": "cpu", "devices": 2, "strategy": "ddp", "sync_batchnorm": False, "precision": "32-true"},
}


@pytest.mark.parametrize("trainer", TRAINERS)
def test_trainer_configs_compose(compose_train, trainer):
    """Each trainer config composes to default.yaml with its own settings on top, and to nothing else."""
    assert set(TRAINER_SETTINGS) == set(TRAINERS)
    own = OmegaConf.load(CONFIG_DIR / "trainer" / f"{trainer}.yaml")
    settings = TRAINER_SETTINGS[trainer]
    if trainer != "default":
        assert set(own) - {"defaults"} == set(settings) and list(own.defaults) == ["default"]
    cfg = OmegaConf.to_container(compose_train(f"trainer={trainer}").trainer)
    default = OmegaConf.to_container(compose_train("trainer=default").trainer)
    assert cfg["_target_"] == "pytorch_lightning.Trainer"
    assert [get_class(plugin["_target_"]).__name__ for plugin in cfg["plugins"]] == ["AtomicCheckpointIO"]
    assert {key: cfg[key] for key in settings} == settings
    inherited = {k: v for k, v in default.items() if k not in settings}
    assert {k: v for k, v in cfg.items() if k not in settings} == inherited


def test_num_classes_flows_from_data(compose_train):
    cfg = compose_train("data.num_classes=12")
    assert cfg.model.num_classes == cfg.data.num_classes == 12


def test_checkpoint_and_wandb_offline(compose_train, tmp_path):
    cfg = compose_train(
        "logger=wandb", "callbacks=default", "trainer.max_epochs=1", "trainer.limit_train_batches=1",
        "trainer.limit_val_batches=1", "trainer.enable_progress_bar=true",
    )
    record = train(cfg)
    ckpt = Path(record["checkpoint"])
    assert ckpt.name == "last.ckpt" and ckpt.is_file()
    task = SegmentationTask.load_from_checkpoint(ckpt)
    assert task.hparams.arch == "encnet" and task.hparams.num_classes == len(CLASSES)
    runs = list((tmp_path / "run" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, list((tmp_path / "run").rglob("*"))

    fresh = instantiate(cfg.model)
    load_weights(fresh, str(ckpt))  # init_weights: the checkpoint's weights, nothing else
    for (name, a), b in zip(task.state_dict().items(), fresh.state_dict().values()):
        assert torch.equal(a, b), name
    with pytest.raises(FileNotFoundError, match="init_weights=.*nope.ckpt"):
        load_weights(fresh, str(tmp_path / "nope.ckpt"))
    fcn = instantiate(compose_train("model=fcn").model)
    with pytest.raises(ValueError, match="does not fit this model"):
        load_weights(fcn, str(ckpt))


def test_unknown_key_is_hydra_error(compose_train):
    with pytest.raises(ConfigCompositionException, match="model.num_codez"):
        compose_train("model.num_codez=3")
    with pytest.raises(ConfigCompositionException, match="num_codes"):
        compose_train("model=fcn", "model.num_codes=3")  # FCN has no codewords


def test_missing_pretrained_file_is_named(compose_train, tmp_path):
    cfg = compose_train(f"model.backbone.pretrained={tmp_path}/missing_resnet.pth")
    task = instantiate(cfg.model)  # construction never reads the file
    with pytest.raises(FileNotFoundError, match="missing_resnet.pth"):
        task.net.load_pretrained_weights()
    with pytest.raises(FileNotFoundError, match="missing_resnet.pth"):  # training from scratch reads it
        train(cfg)


def test_pretrained_backbone_loads_at_train_start_and_is_not_needed_after(compose_train, tmp_path):
    """Training from scratch starts from the pretrained file's weights (lr=0 keeps them); the checkpoint then
    rebuilds, evaluates and resumes without the file."""
    from encnet.models import ResNet
    from encnet.tasks.loading import load_task

    weights = tmp_path / "resnet.pth"
    donor = ResNet(depth=18, width=0.125)
    torch.save(donor.state_dict(), weights)
    cfg = compose_train(f"model.backbone.pretrained={weights}", "model.lr=0", "callbacks=default",
                        "callbacks.wandb_media=null", "trainer.max_epochs=1")
    record = train(cfg)
    task = load_task(record["checkpoint"])
    assert torch.equal(task.net.backbone.conv1.weight, donor.conv1.weight)
    weights.unlink()
    rebuilt = load_task(record["checkpoint"])
    assert torch.equal(rebuilt.net.backbone.conv1.weight, donor.conv1.weight)
    resumed = compose_train(f"model.backbone.pretrained={weights}", "model.lr=0", "callbacks=default",
                            "callbacks.wandb_media=null", "trainer.max_epochs=2", f"ckpt_path={record['checkpoint']}")
    resumed.paths.output_dir = str(tmp_path / "resumed")
    assert train(resumed)["resumed_from"] == record["checkpoint"]


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ENCNET_CACHE_DIR": str(cwd / "cache"), "NO_ALBUMENTATIONS_UPDATE": "1"}
    return subprocess.run([sys.executable, "-m", "encnet.cli.train", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
def test_multirun_sweep_writes_metrics_per_job(tmp_path):
    proc = _cli("-m", "model.se_loss_weight=0,0.2", "model.num_codes=0,4", "trainer.fast_dev_run=true", *TINY,
                f"hydra.sweep.dir={tmp_path}/sweep", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    files = sorted((tmp_path / "sweep").rglob("metrics.json"))
    assert len(files) == 4
    swept = {
        tuple(o for o in json.loads(f.read_text())["overrides"] if o.startswith(("model.num_codes", "model.se_loss")))
        for f in files
    }
    assert swept == {(f"model.se_loss_weight={a}", f"model.num_codes={k}") for a in (0, 0.2) for k in (0, 4)}


@pytest.mark.slow
def test_multirun_gives_each_job_its_own_wandb_run(tmp_path):
    """Jobs of a multirun share one process: each must close its wandb run, or the next logs into it."""
    proc = _cli("-m", "seed=0,1", *TINY, "logger=wandb", "trainer.max_epochs=1", "trainer.limit_train_batches=1",
                "trainer.limit_val_batches=1", f"hydra.sweep.dir={tmp_path}/sweep", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for job in ("0", "1"):
        assert len(list((tmp_path / "sweep" / job / "wandb").glob("offline-run-*"))) == 1, job


def test_cli_prints_composed_config(tmp_path):
    proc = _cli("--cfg", "job", "model=fcn", "model.backbone.depth=101", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    cfg = OmegaConf.create(proc.stdout)
    assert cfg.model.arch == "fcn" and cfg.model.backbone.depth == 101


def test_console_script_installed():
    script = Path(sys.executable).parent / "encnet-train"
    if not script.exists():
        pytest.skip("encnet-train is not installed next to this interpreter")
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "encnet, fcn" in proc.stdout


def test_unwritable_output_dir_fails_before_any_work(compose_train, tmp_path):
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    cfg = compose_train("data.cache_dir=" + str(tmp_path / "fresh_cache"))
    cfg.paths.output_dir = str(blocked / "run")
    with pytest.raises(PermissionError, match=f"paths.output_dir={blocked}/run cannot be written"):
        train(cfg)
    assert not (tmp_path / "fresh_cache").exists()  # nothing generated, nothing trained
