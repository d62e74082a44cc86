"""Same seed, same machine → the same run: augmentation, shuffling and training are seeded end to end, and the
training stream depends on the seed alone (common random numbers across models)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytorch_lightning as pl
import torch
from hydra.utils import instantiate

from encnet.cli.runner import build_trainer, start
from encnet.cli.train import run as train
from encnet.data import ContextScenesDataModule


def _run(compose_train, tmp_path, name: str, *overrides: str) -> dict:
    cfg = compose_train("trainer.max_epochs=2", "data.num_workers=2", "data.num_train=16", *overrides)
    cfg.paths.output_dir = str(tmp_path / name)
    record = train(cfg)
    assert json.loads((tmp_path / name / "metrics.json").read_text()) == json.loads(json.dumps(record))
    return {k: v for k, v in record.items() if k.startswith("val/")}


def test_same_seed_same_metrics_with_workers(compose_train, tmp_path):
    """Two short trainings (2 epochs, 2 DataLoader workers) with one seed: identical validation loss and
    metrics, bit for bit; another seed differs."""
    first = _run(compose_train, tmp_path, "a", "seed=5")
    second = _run(compose_train, tmp_path, "b", "seed=5")
    assert first == second and "val/loss_ce" in first and len(first) > 10
    assert _run(compose_train, tmp_path, "c", "seed=6")["val/loss_ce"] != first["val/loss_ce"]


def _batches(cache_dir, workers: int, stream_seed: int, torch_seed: int) -> list[torch.Tensor]:
    torch.manual_seed(torch_seed)
    dm = ContextScenesDataModule(str(cache_dir), num_train=8, num_val=2, image_size=48, crop_size=32, batch_size=2,
                                 num_workers=workers, stream_seed=stream_seed)
    dm.prepare_data()
    dm.setup("fit")
    loader = dm.train_dataloader()
    return [images for _ in range(2) for images, _ in loader]  # two epochs


def test_augmentation_follows_stream_seed(cache_dir):
    """The shuffle and the albumentations pipeline follow ``stream_seed`` (per worker, or once per epoch without
    workers), whatever the global torch RNG: the same stream seed repeats every augmented batch, another one
    changes them, the two epochs differ, and the two workers differ."""
    for workers in (0, 2):
        a, b, c = (_batches(cache_dir, workers, 1, 0), _batches(cache_dir, workers, 1, 123),
                   _batches(cache_dir, workers, 2, 0))
        assert all(torch.equal(x, y) for x, y in zip(a, b))
        assert not all(torch.equal(x, y) for x, y in zip(a, c))
        assert not all(torch.equal(x, y) for x, y in zip(a[:4], a[4:]))
    # Without the re-seeding every worker would start from the same draw; with it their crops differ.
    torch.manual_seed(0)
    dm = ContextScenesDataModule(str(cache_dir), num_train=8, num_val=2, image_size=48, crop_size=32, batch_size=1,
                                 num_workers=2)
    dm.prepare_data()
    dm.setup("fit")
    dm.train_set.samples = dm.train_set.samples[:1] * 8  # one image, so only the augmentation differs
    loader = torch.utils.data.DataLoader(dm.train_set, batch_size=1, num_workers=2,
                                         worker_init_fn=dm.train_dataloader().worker_init_fn)
    first, second = (images for images, _ in list(loader)[:2])  # batch 0 from worker 0, batch 1 from worker 1
    assert not np.array_equal(first.numpy(), second.numpy())


class _BatchHashes(pl.Callback):
    """Records a hash of every training batch (images and masks) the trainer feeds the model."""

    def __init__(self) -> None:
        self.hashes: list[str] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        images, masks = batch
        self.hashes.append(hashlib.sha256(images.numpy().tobytes() + masks.numpy().tobytes()).hexdigest())


def _stream(compose_train, *overrides: str) -> tuple[list[str], torch.Tensor]:
    """The batch hashes of two short epochs of training as ``encnet-train`` builds it, and the global torch RNG
    state right after the model was built."""
    cfg = compose_train("trainer.max_epochs=2", "data.num_train=16", "trainer.limit_val_batches=0", *overrides)
    start(cfg)
    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model, **datamodule.dataset_info)
    after_init = torch.get_rng_state()
    recorder = _BatchHashes()
    build_trainer(cfg, callbacks=[recorder]).fit(model, datamodule=datamodule)
    return recorder.hashes, after_init


def test_models_of_different_size_see_the_same_batches(compose_train):
    """Common random numbers: FCN and a wider EncNet with one seed draw different amounts of random numbers to
    build themselves (and for dropout), yet train on identical batches in identical order, epoch after epoch;
    another seed gives other batches."""
    fcn, fcn_rng = _stream(compose_train, "seed=3", "model=fcn")
    encnet, encnet_rng = _stream(compose_train, "seed=3", "model.backbone.width=0.25", "model.head_channels=32")
    assert not torch.equal(fcn_rng, encnet_rng)  # the two constructions left the global RNG in different states
    assert len(fcn) == 8 and fcn == encnet
    assert len(set(fcn)) == 8  # the second epoch is shuffled and augmented anew
    other, _ = _stream(compose_train, "seed=4", "model=fcn")
    assert other != fcn
