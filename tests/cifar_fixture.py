"""A tiny CIFAR-10 in the official python layout, written by the tests (and a fixture that shares it).

Same files and pickle layout as ``cifar-10-python.tar.gz``: ``data_batch_1..5``, ``test_batch`` (dicts with
bytes keys ``b"batch_label"``, ``b"labels"``, ``b"data"`` N×3072 uint8, ``b"filenames"``) and ``batches.meta``
(``b"label_names"``, ``b"num_cases_per_batch"``, ``b"num_vis"``). Each image is a flat colour that encodes its
label (red = 20·label) plus noise, so tests can check that images and labels stay paired.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
PER_BATCH = 40  # 5 train batches + 1 test batch = 240 images


def _batch(rng: np.random.Generator, name: str, count: int) -> dict:
    labels = rng.integers(0, len(CLASSES), count)
    planes = rng.integers(0, 40, (count, 3, 32, 32), dtype=np.uint8)
    planes[:, 0] += (20 * labels).astype(np.uint8)[:, None, None]
    return {
        b"batch_label": name.encode(),
        b"labels": labels.tolist(),
        b"data": planes.reshape(count, 3072),
        b"filenames": [f"{name}_{i}.png".encode() for i in range(count)],
    }


def write_cifar10(root: Path, per_batch: int = PER_BATCH, seed: int = 0) -> Path:
    """Write the tiny dataset into ``root`` (a ``cifar-10-batches-py`` directory) and return ``root``."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(root / name, "wb") as f:
            pickle.dump(_batch(rng, name, per_batch), f, protocol=2)
    meta = {b"label_names": [c.encode() for c in CLASSES], b"num_cases_per_batch": per_batch, b"num_vis": 3072}
    with open(root / "batches.meta", "wb") as f:
        pickle.dump(meta, f, protocol=2)
    return root


@pytest.fixture(scope="session")
def cifar_root(tmp_path_factory) -> Path:
    """The tiny CIFAR-10, written once per session (tests must not modify it; copy it first)."""
    return write_cifar10(tmp_path_factory.mktemp("cifar") / "cifar-10-batches-py")
