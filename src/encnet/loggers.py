"""Experiment loggers (Lightning's, adjusted)."""

from __future__ import annotations

import importlib.util
from typing import Any

from pytorch_lightning.loggers import TensorBoardLogger as LightningTensorBoardLogger
from pytorch_lightning.loggers import WandbLogger as LightningWandbLogger


class WandbLogger(LightningWandbLogger):
    """Lightning's WandbLogger, less the ``anonymous`` argument it always hands to ``wandb.init`` (wandb has
    deprecated it and warns whenever it is passed, even as None). Arguments as Lightning's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wandb_init.pop("anonymous", None)


class TensorBoardLogger(LightningTensorBoardLogger):
    """Lightning's TensorBoardLogger (event files for ``tensorboard --logdir``), which writes them through
    ``tensorboardX`` (``pip install 'encnet[tensorboard]'``, a small package) or, when it is installed, the
    ``tensorboard`` package itself. Without either, one error naming ``logger=tensorboard``. Arguments as
    Lightning's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if not any(importlib.util.find_spec(name) for name in ("tensorboardX", "tensorboard")):
            raise ModuleNotFoundError("logger=tensorboard writes its event files with tensorboardX (or tensorboard), "
                                      "which is not installed: pip install 'encnet[tensorboard]'")
        super().__init__(*args, **kwargs)
