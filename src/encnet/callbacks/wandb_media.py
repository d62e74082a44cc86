"""Lightning callbacks that show a segmentation run's work in wandb (no-ops when no WandbLogger is attached,
so the CSV logger and ``logger=none`` runs are untouched)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import WandbLogger
from torch import Tensor

from encnet.data.dataset import IGNORE_INDEX
from encnet.data.transforms import IMAGENET_MEAN, IMAGENET_STD


def wandb_logger(trainer: pl.Trainer) -> WandbLogger | None:
    return next((lg for lg in trainer.loggers if isinstance(lg, WandbLogger)), None)


class WandbSegmentationMedia(pl.Callback):
    """Logs to wandb, for a segmentation task:

    * every validation epoch, a fixed set of ``num_images`` validation images (the first ones of the val
      loader, kept from the first epoch) as ``val/predictions``: ``wandb.Image`` with the predicted and the
      ground-truth masks and the class labels;
    * at the end of fit, the last validation epoch's per-class IoU as a ``wandb.Table`` (``val/per_class_iou``)
      and its confusion matrix (``val/confusion_matrix``, wandb's confusion-matrix chart over pixel counts).

    Args:
        num_images: validation images shown each epoch (0 = none).
        mean, std: the normalisation of the images, undone for display.
    """

    def __init__(self, num_images: int = 8, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD) -> None:
        if num_images < 0:
            raise ValueError(f"callbacks.wandb_media.num_images must be ≥ 0, got {num_images}")
        self.num_images = num_images
        self.mean = torch.tensor(mean)[:, None, None]
        self.std = torch.tensor(std)[:, None, None]
        self.images: list[Tensor] = []  # 3×H×W normalised, on the CPU
        self.masks: list[Tensor] = []  # H×W class ids

    def on_validation_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any,
                                batch: Any, batch_idx: int, dataloader_idx: int = 0) -> None:
        images, masks = batch
        if trainer.sanity_checking or masks.dim() != 3 or len(self.images) >= self.num_images:
            return
        for image, mask in zip(images, masks):
            if len(self.images) < self.num_images:
                self.images.append(image.detach().cpu())
                self.masks.append(mask.detach().cpu())

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        logger = wandb_logger(trainer)
        if logger is None or trainer.sanity_checking or not self.images or not trainer.is_global_zero:
            return
        import wandb

        labels = self._class_labels(pl_module)
        pictures = []
        with torch.no_grad():
            for image, mask in zip(self.images, self.masks):
                pred = pl_module(image[None].to(pl_module.device)).argmax(dim=1)[0].cpu().numpy()
                photo = ((image * self.std + self.mean).clamp(0, 1) * 255).byte().permute(1, 2, 0).numpy()
                pictures.append(wandb.Image(photo, masks={
                    "prediction": {"mask_data": pred.astype(np.uint8), "class_labels": labels},
                    "ground_truth": {"mask_data": mask.numpy().astype(np.uint8), "class_labels": labels},
                }))
        logger.experiment.log({"val/predictions": pictures, "trainer/global_step": trainer.global_step})

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        logger = wandb_logger(trainer)
        confusion = getattr(pl_module, "confusion", {}).get("val")
        if logger is None or confusion is None or not trainer.is_global_zero:
            return
        import wandb

        names = pl_module.class_names()
        counts = confusion.long().numpy()
        iou = [float(trainer.callback_metrics.get(f"val/IoU/{name}", float("nan"))) for name in names]
        table = wandb.Table(columns=["class", "IoU", "pixels"],
                            data=[[n, v, int(p)] for n, v, p in zip(names, iou, counts.sum(1))])
        cells = wandb.Table(columns=["Actual", "Predicted", "nPredictions"],
                            data=[[names[i], names[j], int(counts[i, j])]
                                  for i in range(len(names)) for j in range(len(names))])
        chart = wandb.plot_table("wandb/confusion_matrix/v1", cells,
                                 {"Actual": "Actual", "Predicted": "Predicted", "nPredictions": "nPredictions"},
                                 {"title": "validation confusion matrix (pixels)"})
        logger.experiment.log({"val/per_class_iou": table, "val/confusion_matrix": chart})

    @staticmethod
    def _class_labels(pl_module: pl.LightningModule) -> dict[int, str]:
        return {i: name for i, name in enumerate(pl_module.class_names())} | {IGNORE_INDEX: "unlabelled"}
