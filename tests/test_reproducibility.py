"""Same seed, same machine → the same run: augmentation, shuffling and training are seeded end to end."""

from __future__ import annotations

import json

import numpy as np
import torch

from encnet.data import ContextScenesDataModule
from encnet.train import train


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


def _batches(cache_dir, workers: int, seed: int) -> list[torch.Tensor]:
    torch.manual_seed(seed)
    dm = ContextScenesDataModule(str(cache_dir), num_train=8, num_val=2, image_size=48, crop_size=32, batch_size=2,
                                 num_workers=workers)
    dm.prepare_data()
    dm.setup("fit")
    loader = dm.train_dataloader()
    return [images for _ in range(2) for images, _ in loader]  # two epochs


def test_augmentation_follows_torch_seed(cache_dir):
    """The albumentations pipeline is re-seeded from torch (per worker, or once without workers): the same
    torch seed repeats every augmented batch, another seed changes them, and the two workers differ."""
    for workers in (0, 2):
        a, b, c = _batches(cache_dir, workers, 1), _batches(cache_dir, workers, 1), _batches(cache_dir, workers, 2)
        assert all(torch.equal(x, y) for x, y in zip(a, b))
        assert not all(torch.equal(x, y) for x, y in zip(a, c))
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
