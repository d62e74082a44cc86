"""The loader half shared by every datamodule: train/val/test/predict DataLoaders over prepared datasets.

Reproducibility: albumentations 2.x draws its own random state (``A.Compose`` ignores numpy's and
torch's global seeds), so every loader re-seeds its dataset's augmentation from torch: each DataLoader
worker from its torch worker seed (distinct per worker and rank, derived from the run's seed for each new
iterator), and a loader without workers once, from the global torch RNG. Same ``seed``, same machine →
the same augmented batches in the same order, with or without workers.

Distributed evaluation (``trainer=ddp``, ``trainer=ddp_cpu``, several nodes): the val / test / predict loaders
give each process every world_size-th image with Lightning's ``UnrepeatedDistributedSampler``, so every image
is evaluated exactly once and the synchronised metrics equal a single process's for any split size. (Lightning's
own choice for val and test, ``DistributedSampler``, pads the last round with repeated images, which would count
them twice.) The processes may then run one batch more or less than each other, which evaluation allows. The
train loader keeps Lightning's ``DistributedSampler`` (shuffled per epoch, equal batch counts).
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.seed import pl_worker_init_function
from pytorch_lightning.overrides.distributed import UnrepeatedDistributedSampler
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

    def _eval_sampler(self, dataset: Dataset) -> UnrepeatedDistributedSampler | None:
        """In a distributed run, the sampler that gives this process every world_size-th image of ``dataset``
        (each image once over all processes); None otherwise (Lightning leaves a single process's loader as is)."""
        kwargs = self.trainer.distributed_sampler_kwargs if self.trainer is not None else None
        if not kwargs or kwargs.get("num_replicas", 1) <= 1:
            return None
        if len(dataset) < kwargs["num_replicas"]:
            raise ValueError(f"{type(dataset).__name__} has {len(dataset)} evaluation image(s), fewer than the "
                             f"{kwargs['num_replicas']} processes of this distributed run (trainer.devices × "
                             "trainer.num_nodes): every process needs one; use fewer processes or more images")
        return UnrepeatedDistributedSampler(dataset, num_replicas=kwargs["num_replicas"], rank=kwargs["rank"],
                                            shuffle=False)

    def _loader(self, dataset: Dataset | None, batch_size: int, shuffle: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError(f"{type(self).__name__}: call setup() for this stage before asking for its loader")
        workers = self.hparams.num_workers
        if workers == 0:
            seed_augmentation(dataset, int(torch.randint(2**31, ())))
        sampler = None if shuffle else self._eval_sampler(dataset)
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, sampler=sampler, drop_last=shuffle,
                          num_workers=workers,
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
