"""Reading published weights: a local path, or an http(s) URL downloaded once into torch.hub's cache.

Used by the weight converter and by the backbone's ``pretrained`` option alike.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch
from torch import Tensor


def _load(src: str, allow_pickle: bool) -> tuple[Any, Path]:
    """torch.load of ``src`` (URLs through torch.hub, which also unpacks the legacy .zip releases) → (object, file)."""
    if src.startswith(("http://", "https://")):
        loaded = torch.hub.load_state_dict_from_url(src, map_location="cpu", weights_only=not allow_pickle)
        return loaded, Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(src).path)
    path = Path(src).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"{src}: no such checkpoint file")
    return torch.load(path, map_location="cpu", weights_only=not allow_pickle), path


def read_state_dict(src: str, allow_pickle: bool = False) -> tuple[dict[str, Tensor], Path]:
    """The tensors of checkpoint ``src`` and the file they were read from.

    Accepts a bare state_dict or one under ``state_dict``/``model``; strips ``module.`` (DataParallel/DDP).
    Read with ``torch.load(weights_only=True)`` unless ``allow_pickle`` (only for files you trust).
    Every failure is one error naming ``src``.
    """
    try:
        state, path = _load(src, allow_pickle)
    except pickle.UnpicklingError as err:
        refused = re.search(r"Unsupported global: GLOBAL (\S+)", str(err))
        if refused:
            raise ValueError(f"{src}: holds {refused.group(1)}, which torch.load(weights_only=True) refuses; if you "
                             "trust the file: encnet-convert-weights --allow-pickle") from None
        reason = re.search(r"WeightsUnpickler error:\s*(.+)", str(err))
        why = reason.group(1) if reason else err
        raise ValueError(f"{src}: not a checkpoint torch.load can read ({why})") from None
    except FileNotFoundError:
        raise
    except Exception as err:  # noqa: BLE001 — any reading failure is one error naming the file
        raise ValueError(f"{src}: not a checkpoint torch.load can read ({type(err).__name__}: {err})") from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not any(isinstance(v, Tensor) for v in state.values()):
        raise ValueError(f"{src}: holds no state_dict (a mapping of names to tensors)")
    return {k.removeprefix("module."): v for k, v in state.items() if isinstance(v, Tensor)}, path


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file (recorded as the provenance of converted weights)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
