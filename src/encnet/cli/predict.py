"""``encnet-predict`` (``python -m encnet.cli.predict``): compose → ``run(cfg)``: load → predict files.

    encnet-predict ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt input=photos/ output_dir=out/
    encnet-predict ckpt_path=... input='photos/*.jpg' output_dir=out/ eval.scales=[0.75,1.0,1.25] eval.flip=true

Writes ``<stem>.png`` and ``<stem>_overlay.jpg`` per image (:func:`encnet.inference.files.predict`); unreadable
files are named in one error at the end, after every good image is written, and the exit status is 1.
"""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.utils import instantiate
from omegaconf import DictConfig

from encnet.cli.runner import start
from encnet.inference.files import predict
from encnet.infra.config import CONFIG_DIR
from encnet.tasks.loading import load_task


def run(cfg: DictConfig) -> list[Path]:
    """Segment ``cfg.input`` with ``cfg.ckpt_path`` into ``cfg.output_dir``; return the label PNGs written."""
    start(cfg, order=("eval", "data"))
    datamodule = instantiate(cfg.data)  # class names, colours and normalisation; no dataset is read
    task = load_task(cfg.ckpt_path, cfg.data.num_classes, **datamodule.dataset_info)
    written = predict(task, cfg.input, cfg.output_dir, inference=instantiate(cfg.eval),
                      mean=datamodule.hparams.mean, std=datamodule.hparams.std,
                      overwrite=cfg.overwrite, device=cfg.device, progress=cfg.progress)
    print(f"{len(written)} predictions written to {Path(cfg.output_dir)}")
    return written


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="predict")
def main(cfg: DictConfig) -> None:
    run(cfg)


if __name__ == "__main__":
    main()
