"""Experiment loggers (Lightning's, adjusted)."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

from pytorch_lightning.loggers import TensorBoardLogger as LightningTensorBoardLogger
from pytorch_lightning.loggers import WandbLogger as LightningWandbLogger

MISSING_WANDB = ("logger=wandb needs the wandb package, which is not installed: pip install 'encnet[wandb]' "
                 "(part of the dev extra that `make install` installs), or run with logger=csv or logger=none")


class WandbLogger(LightningWandbLogger):
    """Lightning's WandbLogger, less the ``anonymous`` argument it always hands to ``wandb.init`` (wandb has
    deprecated it and warns whenever it is passed, even as None). ``settings``: the keyword arguments of
    ``wandb.Settings``. Other arguments as Lightning's. wandb is imported here, so that only this logger needs
    it; without it, one error that names ``logger=wandb``."""

    def __init__(self, *args: Any, settings: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        try:
            import wandb
        except ImportError:
            raise ModuleNotFoundError(MISSING_WANDB) from None
        if settings is not None:
            kwargs["settings"] = wandb.Settings(**settings)
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
