"""The networks the benchmark scripts measure, composed by Hydra as ``encnet-train`` composes them (imported
by them as ``compose``): without the default CPU-sized experiment unless the overrides pick one; for FCN the
overrides of EncNet-only model keys (``num_codes``, ``encoding_impl`` …) are left out."""

from __future__ import annotations

import functools

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from encnet.infra.config import CONFIG_DIR


def compose_train(overrides: list[str]) -> DictConfig:
    """The whole ``train`` config with these overrides (``~experiment`` unless one is picked)."""
    experiment = [] if any(o.lstrip("+").startswith("experiment=") for o in overrides) else ["~experiment"]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("train", overrides=[*experiment, *overrides])


def compose_arch(arch: str, impl: str | None, overrides: list[str]) -> DictConfig:
    """The ``train`` config of ``model=<arch>`` (and ``model.encoding_impl=<impl>`` for EncNet) with the user's
    overrides."""
    if arch == "fcn":
        overrides = [o for o in overrides if _model_key(o) not in _encnet_only_keys()]
    elif impl is not None:
        overrides = [*overrides, f"model.encoding_impl={impl}"]
    return compose_train([f"model={arch}", *overrides])


@functools.cache
def _encnet_only_keys() -> frozenset[str]:
    """Keys of the ``model=encnet`` config that ``model=fcn`` lacks (``num_codes``, ``encoding_impl`` …)."""
    return frozenset(compose_train(["model=encnet"]).model.keys() - compose_train(["model=fcn"]).model.keys())


def _model_key(override: str) -> str | None:
    """``model.num_codes=4`` → ``num_codes``; None for an override of anything but a model key."""
    key = override.lstrip("~+").split("=", 1)[0]
    return key.split(".")[1] if key.startswith("model.") else None
