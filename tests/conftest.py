"""Shared fixtures: composing the Hydra config the way ``encnet-train`` does, at test size."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

# Without a GPU, tests/test_encoding_triton.py runs the Triton kernels through the Triton interpreter, which
# must be switched on before anything imports Triton (torch._dynamo and Lightning do): so here, first.
# Nothing else in the suite uses Triton on CPU (impl="auto" is the matmul form there).
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import pytest  # noqa: E402
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from encnet.infra.config import CONFIG_DIR

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("WANDB_SILENT", "true")

# A CPU-instant version of the default run: tiny generated dataset, tiny network, no logger.
TINY = [
    "data.num_train=8",
    "data.num_val=4",
    "data.image_size=64",
    "data.base_size=64",
    "data.crop_size=48",
    "data.batch_size=4",
    "data.val_batch_size=2",
    "data.num_workers=0",
    "model.backbone.width=0.125",
    "model.head_channels=16",
    "logger=none",
    "callbacks=none",
    "print_config=false",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
]


def load_script(path: Path) -> ModuleType:
    """A script outside the package (``benchmarks/``, ``offline/``) as a module, for testing its functions."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    """One generated-dataset cache for the whole session."""
    return tmp_path_factory.mktemp("cache")


def _composer(config_name: str, tmp_path: Path, cache_dir: Path, tiny_overrides: list[str]):
    def _compose(*overrides: str, tiny: bool = True) -> DictConfig:
        GlobalHydra.instance().clear()
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(
                config_name,
                overrides=[*(tiny_overrides if tiny else []), *overrides],
                return_hydra_config=True,
            )
        with open_dict(cfg):
            cfg.paths.root_dir = str(tmp_path)
            cfg.paths.output_dir = str(tmp_path / "run")
            cfg.paths.cache_dir = str(cache_dir)
            cfg.hydra.runtime.output_dir = str(tmp_path / "run")
            cfg.hydra.job.num = 0
            cfg.hydra.job.id = "0"
        HydraConfig().set_config(cfg)
        return cfg

    return _compose


@pytest.fixture
def compose_train(tmp_path: Path, cache_dir: Path):
    """compose_train(*overrides) → the composed ``train`` config, HydraConfig set, outputs in tmp_path."""
    yield _composer("train", tmp_path, cache_dir, TINY)
    GlobalHydra.instance().clear()


@pytest.fixture
def compose_eval(tmp_path: Path, cache_dir: Path):
    """compose_eval(*overrides) → the composed ``eval`` config (tiny data, no logger), outputs in tmp_path."""
    tiny = [o for o in TINY if o.startswith(("data.", "trainer.", "print_config"))]
    yield _composer("eval", tmp_path, cache_dir, tiny)
    GlobalHydra.instance().clear()


@pytest.fixture
def compose_app(tmp_path: Path, cache_dir: Path):
    """compose_app(config_name, *overrides) → the composed config of another app (``predict``, ``export``,
    ``check_data``), HydraConfig set, outputs in tmp_path: for calling that app's ``run(cfg)`` in-process."""
    yield lambda config_name, *overrides: _composer(config_name, tmp_path, cache_dir, [])(*overrides)
    GlobalHydra.instance().clear()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, cache_dir) -> Path:
    """``last.ckpt`` of a one-step training run at test size (shared by the predict and export tests)."""
    from encnet.cli.train import run as train

    root = tmp_path_factory.mktemp("tiny_run")
    cfg = _composer("train", root, cache_dir, TINY)("callbacks=default", "trainer.max_epochs=1",
                                                     "trainer.limit_train_batches=1")
    record = train(cfg)
    GlobalHydra.instance().clear()
    return Path(record["checkpoint"])


def confusion_metrics(confusion: np.ndarray, exclude: int | None = None) -> tuple[float, float, np.ndarray]:
    """pixAcc, mIoU and per-class IoU of a K×K confusion matrix (rows: target, columns: prediction), by hand:
    mIoU over the classes present in target or prediction (``exclude`` left out), an absent class's IoU 0."""
    tp = np.diag(confusion).astype(float)
    union = confusion.sum(0) + confusion.sum(1) - tp
    iou = np.divide(tp, union, out=np.zeros_like(tp), where=union > 0)
    present = union > 0
    if exclude is not None:
        present[exclude] = False
    return tp.sum() / confusion.sum(), iou[present].mean(), iou


def assert_metrics_recount(record: dict, confusion: np.ndarray, class_names: list[str], stage: str,
                           background: int | None = None) -> None:
    """``record``'s {stage}/pixAcc, /mIoU, /IoU/<class> (and with a ``background`` class
    /mIoU_excl_background) are those of ``confusion``, recounted by hand."""
    pix_acc, miou, iou = confusion_metrics(confusion)
    assert record[f"{stage}/pixAcc"] == pytest.approx(pix_acc, abs=1e-6)
    assert record[f"{stage}/mIoU"] == pytest.approx(miou, abs=1e-6)
    assert [record[f"{stage}/IoU/{name}"] for name in class_names] == pytest.approx(iou.tolist(), abs=1e-6)
    if background is not None:
        excluded = confusion_metrics(confusion, exclude=background)[1]
        assert record[f"{stage}/mIoU_excl_background"] == pytest.approx(excluded, abs=1e-6)


def assert_eval_outputs(record: dict, run_dir: Path, data_cfg: DictConfig) -> None:
    """An ``encnet-eval`` run: its confusion_matrix.csv counts every labelled pixel of the test split once (at
    the original resolution), and its metrics are that matrix's, recounted by hand."""
    from hydra.utils import instantiate

    confusion = np.loadtxt(run_dir / "confusion_matrix.csv", delimiter=",", dtype=np.int64)
    dm = instantiate(data_cfg)
    dm.setup("test")
    masks = (dm.test_set.load(i)[1] for i in range(len(dm.test_set)))
    assert confusion.sum() == sum(int((mask != dm.hparams.ignore_index).sum()) for mask in masks)
    assert_metrics_recount(record, confusion, list(dm.class_names), "test", dm.background_index)


@pytest.fixture
def val_confusions(monkeypatch) -> list[np.ndarray]:
    """Spy on segmentation validation: one K×K confusion matrix per validation epoch, counted here with numpy
    from the targets and the labels of a forward pass of its own (argmax of the model's scores), apart from
    the task's metrics. The last one is that of the weights metrics.json reports."""
    from encnet.tasks import SegmentationTask
    from encnet.tasks.base import BaseTask

    confusions: list[np.ndarray] = []
    epoch: list[np.ndarray] = []  # the running epoch's matrix, once it has a batch
    real_step, real_end = BaseTask._eval_step, BaseTask._eval_epoch_end

    def eval_step(self, batch, stage):
        if stage == "val" and isinstance(self, SegmentationTask):
            images, targets = batch
            k = self.hparams.num_classes
            if not epoch:
                epoch.append(np.zeros((k, k), dtype=np.int64))
            labels = self(images).argmax(dim=1)
            valid = targets != self.ignore_index
            pairs = (k * targets[valid] + labels[valid]).cpu().numpy()
            epoch[0] += np.bincount(pairs, minlength=k * k).reshape(k, k)
        return real_step(self, batch, stage)

    def eval_epoch_end(self, stage):
        if stage == "val" and epoch:
            confusions.append(epoch.pop())
        return real_end(self, stage)

    monkeypatch.setattr(BaseTask, "_eval_step", eval_step)
    monkeypatch.setattr(BaseTask, "_eval_epoch_end", eval_epoch_end)
    return confusions
