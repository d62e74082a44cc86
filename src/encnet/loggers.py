"""Experiment loggers (Lightning's, adjusted)."""

from __future__ import annotations

from typing import Any

from pytorch_lightning.loggers import WandbLogger as LightningWandbLogger


class WandbLogger(LightningWandbLogger):
    """Lightning's WandbLogger, less the ``anonymous`` argument it always hands to ``wandb.init`` (wandb has
    deprecated it and warns whenever it is passed, even as None). Arguments as Lightning's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wandb_init.pop("anonymous", None)
