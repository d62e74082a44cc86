"""A quiet console: a run prints its config (when asked), the progress bar, the model summary and the results.

The rest is switched off where it arises, by name, so that every other message still shows:

* the Trainer arguments in ``conf/trainer`` are only the ones set (``limit_*_batches: null``: Lightning
  announces an explicit ``1.0``), and ``seed_everything(..., verbose=False)``;
* Lightning info messages without a switch of their own are dropped from its rank-zero logger by their
  opening words (:data:`DROPPED_LIGHTNING_INFO`): its advertisements for litlogger and litmodels, its notice
  that the configured model-summary callback replaces its default one, its note on reading the train loader
  to size the lr schedule, and its TPU / HPU lines (the GPU line stays: it says where the run runs);
* torch's deprecation of ``LeafSpec``, which Lightning and torch.export still construct, is ignored (that
  message only);
* in a distributed run, Lightning's advice to log epoch-level values with ``sync_dist=True`` is ignored: the
  metrics logged at the end of an evaluation epoch come from torchmetrics' ``compute``, which has already
  reduced their states over all processes;
* wandb is silent (``conf/logger/wandb.yaml``), and :class:`encnet.infra.loggers.WandbLogger` does not pass the
  ``anonymous`` argument that wandb has deprecated.
"""

from __future__ import annotations

import logging
import warnings

LIGHTNING_INFO_LOGGER = "pytorch_lightning.utilities.rank_zero"
DROPPED_LIGHTNING_INFO = (
    "💡 Tip: For seamless cloud",  # litlogger, litmodels
    "Trainer already configured with model summary callbacks",
    "Loading `train_dataloader` to estimate number of stepping batches",
    "TPU available:",
    "HPU available:",
)


class DropMessages(logging.Filter):
    """Drops the log records whose message starts with one of ``prefixes``."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefixes)


def quiet_dependencies() -> None:
    """Switch off the dependencies' console noise listed in this module's docstring (idempotent)."""
    logger = logging.getLogger(LIGHTNING_INFO_LOGGER)
    if not any(isinstance(f, DropMessages) for f in logger.filters):
        logger.addFilter(DropMessages(DROPPED_LIGHTNING_INFO))
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
                            category=FutureWarning)
    warnings.filterwarnings("ignore", message=r"It is recommended to use `self.log\('[^']*', \.\.\., sync_dist=True\)`")
