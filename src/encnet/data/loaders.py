"""The loader half shared by every datamodule: train/val/test/predict DataLoaders over prepared datasets.

Reproducibility and common random numbers: the training stream (shuffle order and augmentation draws) comes
from a generator of its own, re-seeded at the start of every epoch from (``stream_seed``, epoch); the epoch
count is part of the datamodule's checkpoint state. It never reads the global torch RNG, so it does not depend
on how many random numbers model construction, dropout or anything else consumed: two models trained with one
``stream_seed`` see the same batches in the same order (paired comparisons), and a resumed run continues the
same stream. albumentations 2.x keeps its own random state, so the augmentation is re-seeded from that
generator too: in each DataLoader worker from the worker's torch seed (which PyTorch derives from the loader's
generator; workers are not persistent), and without workers once per epoch. Evaluation loaders augment nothing
and draw from a private generator, so validating never moves anything. Model initialisation and dropout keep
the global generators (``seed``).

Distributed evaluation (``trainer=ddp``, ``trainer=ddp_cpu``, several nodes): the val / test / predict loaders
give each process every world_size-th image with Lightning's ``UnrepeatedDistributedSampler``, so every image
is evaluated exactly once and the synchronised metrics equal a single process's for any split size. (Lightning's
own choice for val and test, ``DistributedSampler``, pads the last round with repeated images, which would count
them twice.) The processes may then run one batch more or less than each other, which evaluation allows. The
train loader keeps Lightning's ``DistributedSampler`` (shuffled per epoch, equal batch counts).
"""

from __future__ import annotations

import numpy as np
import pytorch_lightning as pl
import torch
from lightning_fabric.utilities.seed import pl_worker_init_function
from pytorch_lightning.overrides.distributed import UnrepeatedDistributedSampler
from torch.utils.data import DataLoader, Dataset, RandomSampler, Sampler, Subset, get_worker_info

EVAL_LOADER_SEED = 0


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


def epoch_seed(stream_seed: int, epoch: int) -> int:
    """The training stream's seed for ``epoch``: a 63-bit hash of (stream_seed, epoch)."""
    return int(np.random.SeedSequence([stream_seed % 2**32, stream_seed // 2**32, epoch]).generate_state(
        1, np.uint64)[0] >> 1)


class EpochSeededLoader(DataLoader):
    """Training DataLoader whose generator (shuffle order, the workers' seeds) is re-seeded from
    (``stream_seed``, epoch) each time an epoch's iterator starts; without workers it re-seeds the dataset's
    augmentation from that generator too (with workers, :func:`seed_worker` does it in every worker).

    It counts the epochs itself: ``epoch`` is the epoch of its next iterator (``first_epoch`` to begin with; a
    resumed run passes the count its checkpoint holds). Lightning's ``set_epoch`` is not used: Lightning creates
    the first iterator before it calls it, and a resumed run's first call names the wrong epoch. Under DDP
    Lightning swaps in its ``DistributedSampler`` (shuffled from the global seed and Lightning's epoch)."""

    def __init__(self, dataset: Dataset, stream_seed: int, first_epoch: int = 0, sampler: Sampler | None = None,
                 **options) -> None:
        generator = torch.Generator()
        sampler = RandomSampler(dataset, generator=generator) if sampler is None else sampler
        super().__init__(dataset, sampler=sampler, generator=generator, **options)
        self.stream_seed = stream_seed
        self.epoch = first_epoch

    def __iter__(self):
        self.generator.manual_seed(epoch_seed(self.stream_seed, self.epoch))
        self.epoch += 1
        if self.num_workers == 0:
            seed_augmentation(self.dataset, int(torch.randint(2**31, (), generator=self.generator)))
        return super().__iter__()


class LoadersDataModule(pl.LightningDataModule):
    """Builds the DataLoaders; subclasses fill ``train_set`` / ``val_set`` / ``test_set`` in ``setup``.

    Uses ``hparams.stream_seed`` (the training stream's seed), ``hparams.batch_size`` (train, shuffled, last
    partial batch dropped), ``hparams.val_batch_size`` (val), :attr:`test_batch_size` (test and predict) and
    ``hparams.num_workers``.
    """

    train_set: Dataset | None = None
    val_set: Dataset | None = None
    test_set: Dataset | None = None
    train_loader: EpochSeededLoader | None = None
    train_epochs = 0  # training epochs begun before this process (restored from a checkpoint)

    def state_dict(self) -> dict[str, int]:
        """The training stream's position, saved in every checkpoint: the epochs begun so far."""
        return {"train_epochs": self.train_loader.epoch if self.train_loader is not None else self.train_epochs}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        self.train_epochs = int(state_dict.get("train_epochs", 0))

    @property
    def test_batch_size(self) -> int:
        return self.hparams.val_batch_size

    @property
    def dataset_info(self) -> dict:
        """What a task must know of this data, as keyword arguments of its constructor (none by default)."""
        return {}

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

    def _loader(self, dataset: Dataset | None, batch_size: int, train: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError(f"{type(self).__name__}: call setup() for this stage before asking for its loader")
        workers = self.hparams.num_workers
        options = {"batch_size": batch_size, "num_workers": workers, "pin_memory": torch.cuda.is_available()}
        if train:
            self.train_loader = EpochSeededLoader(dataset, self.hparams.stream_seed, self.train_epochs,
                                                  drop_last=True, worker_init_fn=seed_worker, **options)
            return self.train_loader
        return DataLoader(dataset, shuffle=False, sampler=self._eval_sampler(dataset), persistent_workers=workers > 0,
                          generator=torch.Generator().manual_seed(EVAL_LOADER_SEED), **options)

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, self.hparams.batch_size, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, self.hparams.val_batch_size, train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, self.test_batch_size, train=False)

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()
