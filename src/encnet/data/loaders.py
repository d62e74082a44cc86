"""The loader half shared by every datamodule: train/val/test/predict DataLoaders over prepared datasets.

Reproducibility: albumentations 2.x draws its own random state (``A.Compose`` ignores numpy's and
torch's global seeds), so the training loader re-seeds its dataset's augmentation from torch at every epoch:
each DataLoader worker from its torch worker seed (distinct per worker and rank, derived from the global
torch RNG when the epoch's iterator starts; workers are not persistent), and a loader without workers from
the global torch RNG. So an epoch's shuffle and augmentation are a function of the global torch RNG at its
start: same ``seed``, same machine → the same batches, and a run resumed with its random state
(:class:`encnet.callbacks.RandomStateCheckpoint`) continues exactly. Evaluation loaders augment nothing
and draw from a private generator, so validating never moves the training run's random state.

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


class EpochSeededLoader(DataLoader):
    """DataLoader that, without workers, re-seeds its dataset's augmentation from the global torch RNG each time
    an epoch's iterator starts (with workers, :func:`seed_worker` does it in every new worker)."""

    def __iter__(self):
        if self.num_workers == 0:
            seed_augmentation(self.dataset, int(torch.randint(2**31, ())))
        return super().__iter__()


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
            return EpochSeededLoader(dataset, shuffle=True, drop_last=True, worker_init_fn=seed_worker, **options)
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
