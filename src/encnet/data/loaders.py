"""The loader half shared by every datamodule: train/val/test/predict DataLoaders over prepared datasets."""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset


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
        return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=shuffle, num_workers=workers,
                          persistent_workers=workers > 0, pin_memory=torch.cuda.is_available())

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, self.hparams.batch_size, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_set, self.hparams.val_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, self.test_batch_size, shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()
