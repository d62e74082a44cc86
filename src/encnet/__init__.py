"""encnet — Context Encoding Networks (Zhang et al., CVPR 2018) with PyTorch Lightning and Hydra.

Packages, from the bottom up: :mod:`encnet.infra` (run infrastructure), :mod:`encnet.nn` and
:mod:`encnet.models` (plain ``torch.nn``), :mod:`encnet.data` (datasets, augmentation, datamodules),
:mod:`encnet.inference` (plain-torch inference and export), :mod:`encnet.tasks` and :mod:`encnet.callbacks`
(Lightning), :mod:`encnet.zoo` (published weights), :mod:`encnet.cli` (the applications).

``encnet.predict(model, inputs, output_dir, ...)`` segments one's own images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__version__ = "0.1.0"


def predict(model: Any, inputs: Any, output_dir: str | Path, **options: Any) -> list[Path]:
    """Segment ``inputs`` (a file, directory, glob or list) into ``output_dir`` with ``model``: a network or the
    path of a checkpoint written by ``encnet-train``; ``options`` as :func:`encnet.inference.files.predict`.
    Returns the label PNGs written. Imports torch and, for a path, Lightning on first use."""
    from encnet.inference.files import predict as predict_files

    if isinstance(model, (str, Path)):
        from encnet.tasks.loading import load_task

        model = load_task(model)
    return predict_files(model, inputs, output_dir, **options)
