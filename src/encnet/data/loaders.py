"""The loader half shared by every datamodule: train/val/test/predict DataLoaders over prepared datasets.

Reproducibility: albumentations 2.x draws its own random state (``A.Compose`` ignores numpy's and
torch's global seeds), so every loader re-seeds its dataset's augmentation from torch: each DataLoader
worker from its torch worker seed (distinct per worker and rank, derived from the run's seed for each new
iterator), and a loader without workers once, from the global torch RNG. Same ``seed``, same machine →
the same augmented batches in the same order, with or without workers.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.seed import pl_worker_init_function
from torch.utils.data import DataLoader, Dataset, Subset, get_worker_info


def seed_augmentation(dataset: Dataset, seed: int) -> None:
    """Seed the albumentations pipeline(s) of ``dataset`` (looking through ``Subset`` wrappers) with ``seed``."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    transform = getattr(dataset, "transform", None)
    if hasattr(transform, "set_random_seed"):
        transform.set_random_seed(seed % 2**32)


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: Lightning's seeding of numpy / random / torch from the worker seed, the
    worker id and the process rank, then the worker's augmentation from the resulting torch seed."""
    pl_worker_init_function(worker_id)
    seed_augmentation(get_worker_info().dataset, torch.initial_seed())


class LoadersDataModule(pl.LightningDataModule):
    """Builds the DataLoaders; subclasses fill ``train_set`` / ``val_set`` / ``test_set`` in ``setup``.

    Uses ``hparams.batch_size`` (train, shuffled, last partial batch dropped), ``hparams.val_batch_size``
    (val), :attr:`test_batch_size` (test and predict) and ``hparams.num_workers``.
    """

    train_set: Dataset | None = None
    val_set: Dataset | None = None
    test_set: Dataset | None = None

    @property
    def test_batch_size(self) -> int:
        return self.hparams.val_batch_size

    def _loader(self, dataset: Dataset | None, batch_size: int, shuffle: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError(f"{type(self).__name__}: call setup() for this stage before asking for its loader")
        workers = self.hparams.num_workers
        if workers == 0:
            seed_augmentation(dataset, int(torch.randint(2**31, ())))
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=shuffle, num_workers=workers,
                          persistent_workers=workers > 0, pin_memory=torch.cuda.is_available(),
                          worker_init_fn=seed_worker if workers > 0 else None)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, self.hparams.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, self.hparams.val_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, self.test_batch_size, shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()
