"""Where the Hydra configs live (``encnet/conf`` inside an installed wheel, ``<repo>/conf`` in a checkout), and the
generic OmegaConf resolvers they use (registered on import, before any composition; a dataset's own resolver
is registered by its module: ``folder_num_classes`` by :mod:`encnet.data.folder`)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

_PACKAGE = Path(__file__).resolve().parents[1]  # src/encnet (or site-packages/encnet)
CONFIG_DIR = _PACKAGE / "conf" if (_PACKAGE / "conf").is_dir() else _PACKAGE.parents[1] / "conf"


def if_validating(val_size: int, metric: str) -> str | None:
    """``${if_validating:${data.val_size},val/top1_err}``: ``metric`` when there is a validation split
    (``val_size`` > 0), else None (a checkpoint callback then keeps the last epoch)."""
    return metric if int(val_size) > 0 else None


OmegaConf.register_new_resolver("if_validating", if_validating, replace=True)
