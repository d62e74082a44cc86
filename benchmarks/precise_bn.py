"""Do the validation curves jump because of batch-norm's running statistics? For each checkpoint (e.g. every
epoch of one run, ``make stability-bn``): val mIoU as trained, and after recomputing every batch-norm layer's
running mean and variance as exact averages over ``--batches`` training batches (precise BN: Wu & Johnson,
"Rethinking 'Batch' in BatchNorm", 2021); then the largest and the total fall of both curves. A curve that
jumps as trained but not with recomputed statistics jumps because the running averages (momentum 0.1 over
batches of 16) lag the weights, not because the weights got worse.

    OMP_NUM_THREADS=1 python benchmarks/precise_bn.py \
        logs/study/stability/128px/every_epoch/fcn/s0/checkpoints/epoch*.ckpt
    OMP_NUM_THREADS=1 python benchmarks/precise_bn.py CKPT ... --batches 30 data.image_size=384 \
        data.marker_radius_px=[10.24,11.52]     # the data overrides the run was trained with

The data come from ``encnet-train``'s config composed with the given overrides (``data.num_workers=0``; the
dataset cached under ./.cache unless ``paths.cache_dir`` or ``ENCNET_CACHE_DIR`` says otherwise), the training
batches with their augmentation, in the training stream's order.
"""

from __future__ import annotations

import argparse
import itertools
import logging

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from encnet.infra.config import CONFIG_DIR
from encnet.infra.console import quiet_dependencies
from encnet.study.curves import falls
from encnet.tasks import load_task


def recompute_batchnorm(net: torch.nn.Module, batches) -> int:
    """Replace every batch-norm layer's running statistics by their exact average over ``batches`` of images
    (B×3×H×W, train mode, no gradients); returns the number of layers. The net is left in eval mode."""
    layers = [m for m in net.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in layers]
    for layer in layers:
        layer.reset_running_stats()
        layer.momentum = None  # a cumulative average over the batches seen
    net.train()
    with torch.no_grad():
        for images in batches:
            net(images)
    for layer, momentum in zip(layers, momenta):
        layer.momentum = momentum
    net.eval()
    return len(layers)


def val_miou(task: pl.LightningModule, datamodule: pl.LightningDataModule) -> float:
    trainer = pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    return float(trainer.validate(task, datamodule=datamodule, verbose=False)[0]["val/mIoU"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", metavar="CKPT", help="checkpoints of one run, in epoch order")
    parser.add_argument("--batches", type=int, default=30, help="training batches to average the statistics over")
    args, overrides = parser.parse_known_args()
    quiet_dependencies()
    logging.getLogger("pytorch_lightning.utilities.rank_zero").setLevel(logging.WARNING)  # "GPU available" …
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=["data.num_workers=0", "paths.root_dir=.", *overrides])
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    trained, precise = [], []
    for path in args.checkpoints:
        task = load_task(path, cfg.data.num_classes)
        epoch = torch.load(path, map_location="cpu", weights_only=True, mmap=True).get("epoch")
        trained.append(val_miou(task, datamodule))
        images = (batch[0] for batch in itertools.islice(datamodule.train_dataloader(), args.batches))
        layers = recompute_batchnorm(task.net, images)
        precise.append(val_miou(task, datamodule))
        print(f"{path}: epoch {epoch}, val mIoU {100 * trained[-1]:.2f} as trained, {100 * precise[-1]:.2f} with "
              f"the statistics of {layers} batch-norm layers recomputed over {args.batches} training batches")
    for name, curve in (("as trained", trained), ("recomputed", precise)):
        largest, total = falls(curve)
        print(f"val mIoU curve over {len(curve)} checkpoints, {name}: largest fall {100 * largest:.2f}, "
              f"total fall {100 * total:.2f} points")


if __name__ == "__main__":
    main()
