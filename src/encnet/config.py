"""Where the Hydra configs live (``encnet/conf`` inside an installed wheel, ``<repo>/conf`` in a checkout), and the
OmegaConf resolvers they use (registered on import, before any composition)."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

_PACKAGED = Path(__file__).resolve().parent / "conf"
CONFIG_DIR = _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parents[2] / "conf"


def if_validating(val_size: int, metric: str) -> str | None:
    """``${if_validating:${data.val_size},val/top1_err}``: ``metric`` when there is a validation split
    (``val_size`` > 0), else None (a checkpoint callback then keeps the last epoch)."""
    return metric if int(val_size) > 0 else None


def folder_num_classes(root: str) -> int:
    """``${folder_num_classes:${.root}}``: the number of classes in ``<root>/classes.txt`` (``data=folder``)."""
    from encnet.data.folder import num_classes_in  # the data package only when a folder config asks

    return num_classes_in(root)


OmegaConf.register_new_resolver("if_validating", if_validating, replace=True)
OmegaConf.register_new_resolver("folder_num_classes", folder_num_classes, replace=True)
