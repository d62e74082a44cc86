"""``encnet-export`` (``python -m encnet.cli.export``): compose → ``run(cfg)``: load → export → check.

    encnet-export ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt format=onnx output=encnet.onnx
    encnet-export ckpt_path=... format=torchscript output=encnet.pt

The exported model maps normalised images B×3×H×W to logits B×K×H×W (batch, height, width dynamic); it is
run on an input of ``check_shape`` and compared with PyTorch before success is reported
(:mod:`encnet.inference.export`).
The class names and colours of the checkpoint go inside the file (``class_names``, ``class_colours``: JSON).
"""

from __future__ import annotations

import json

import hydra
from omegaconf import DictConfig

from encnet.cli.runner import start
from encnet.inference.export import export, max_difference
from encnet.infra.config import CONFIG_DIR
from encnet.tasks.loading import load_task


def class_metadata(task) -> dict[str, str]:
    """The classes the export predicts, as JSON texts: ``class_names`` and ``class_colours`` (RGB, id order)."""
    names = task.class_names()
    return {"class_names": json.dumps(names), "class_colours": json.dumps(task.colour_table()[: len(names)].tolist())}


def run(cfg: DictConfig) -> float:
    """Export ``cfg.ckpt_path``'s network to ``cfg.output``, check it against PyTorch on ``cfg.check_shape``;
    return the max |exported − PyTorch| difference (above ``cfg.tolerance``: an error)."""
    start(cfg, order=())
    task = load_task(cfg.ckpt_path)
    net = task.net
    path = export(net, cfg.format, cfg.output, cfg.example_shape, metadata=class_metadata(task))
    difference = max_difference(net, path, cfg.format, cfg.check_shape)
    if difference > cfg.tolerance:
        raise RuntimeError(f"{path}: the {cfg.format} export differs from PyTorch by up to {difference:.2e} on an "
                           f"input of shape {list(cfg.check_shape)} (tolerance={cfg.tolerance})")
    print(f"exported {cfg.format} to {path}\n"
          f"max |{cfg.format} − PyTorch| = {difference:.2e} on an input of shape {list(cfg.check_shape)} "
          f"(tolerance {cfg.tolerance})")
    return difference


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="export")
def main(cfg: DictConfig) -> float:
    """Hydra app; returns the max |exported − PyTorch| difference."""
    return run(cfg)


if __name__ == "__main__":
    main()
