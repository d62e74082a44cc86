"""The global random state in every checkpoint, so that a run resumed from its ``last.ckpt`` draws the same
shuffles, augmentations and dropout masks as the run that was never interrupted.

Lightning restores weights, optimiser, schedule and loop counters but not the random generators. This
callback saves the state of Python's, NumPy's and torch's (CPU and CUDA) generators with each checkpoint and
puts it back when Lightning restores the checkpoint, before the training loader's first iterator is made:
the uninterrupted run holds the same state at that point (a checkpoint is written at the end of an epoch,
after validation, and nothing draws random numbers between it and the next epoch's iterator; evaluation
loaders draw from a private generator).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch


def random_state() -> dict[str, Any]:
    """The state of every global generator (tensors and plain Python values: loads with ``weights_only``)."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"python": random.getstate(), "numpy": (name, keys.tolist(), pos, has_gauss, gauss),
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_random_state(state: dict[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class RandomStateCheckpoint(pl.Callback):
    """Saves the global random state in each checkpoint; restores it when training resumes from one."""

    def state_dict(self) -> dict[str, Any]:
        return random_state()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        set_random_state(state_dict)
