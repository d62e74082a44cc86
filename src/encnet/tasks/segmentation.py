"""Lightning task for semantic segmentation: losses, metrics, optimiser and schedule of the paper's recipe.

loss = CE(out) + aux_weight·CE(aux) + se_loss_weight·(SE(se) + SE(se3))        (paper §3.3, §4.1)

SGD (momentum 0.9, weight decay 1e-4), backbone at ``lr`` and heads at ``lr × head_lr_mult``, poly schedule
lr·(1 − iter/max_iter)^0.9 stepped every iteration. pixAcc and mIoU (ignore 255) are torchmetrics
accumulated over the whole split (not averaged per image), one copy per stage. When the datamodule has a
``background_index`` (PASCAL-Context with 60 classes), ``mIoU`` counts background (the paper's Table 2
convention) and ``mIoU_excl_background`` is the mean over the other classes, from the same confusion matrix.

Validation runs the network once on each (resized) image; testing and prediction use ``self.inference``
(an :class:`encnet.inference.MultiScaleInference`, set by ``encnet-eval``) when it is set.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix, MulticlassJaccardIndex

from encnet.inference import MultiScaleInference
from encnet.models import SEGMENTORS
from encnet.nn import SELoss


class SegmentationTask(pl.LightningModule):
    """Wraps a segmentor (``arch``: ``encnet`` or ``fcn``). ``task(images)`` → logits B×num_classes×H×W.

    Args:
        arch: key of :data:`encnet.models.SEGMENTORS`.
        num_classes: classes (ignore label excluded).
        se_loss_weight: α of the SE-loss terms (paper: 0.2); applies to the CEM's and stage 3's. α = 0 means
            no SE-loss: an EncNet is then built without SE heads and without the stage-3 encoder.
        aux_weight: weight of the auxiliary stage-3 FCN loss.
        lr, momentum, weight_decay, head_lr_mult, poly_power: optimiser and schedule.
        ignore_index: label excluded from losses and metrics.
        **net_kwargs: forwarded to the segmentor (``backbone``, ``num_codes``, ``head_channels`` …).
    """

    def __init__(
        self,
        arch: str = "encnet",
        num_classes: int = 150,
        se_loss_weight: float = 0.2,
        aux_weight: float = 0.2,
        lr: float = 0.01,
        momentum: float = 0.9,
        weight_decay: float = 1e-4,
        head_lr_mult: float = 10.0,
        poly_power: float = 0.9,
        ignore_index: int = 255,
        **net_kwargs: Any,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        if arch not in SEGMENTORS:
            raise ValueError(f"model.arch must be one of {sorted(SEGMENTORS)}, got {arch!r}")
        if "se_loss" in net_kwargs:
            raise TypeError("model.se_loss is not an option: model.se_loss_weight=0 means no SE-loss (no SE heads)")
        if se_loss_weight < 0:
            raise ValueError(f"model.se_loss_weight must be ≥ 0, got {se_loss_weight}")
        if arch == "encnet":
            net_kwargs["se_loss"] = se_loss_weight > 0
        try:
            self.net = SEGMENTORS[arch](num_classes=num_classes, **net_kwargs)
        except TypeError as err:  # an option the chosen segmentor does not take
            raise TypeError(f"model.arch={arch}: {err}") from None
        self.se_loss = SELoss(num_classes, ignore_index)
        metrics = MetricCollection(
            {
                "pixAcc": MulticlassAccuracy(num_classes, average="micro", ignore_index=ignore_index),
                "mIoU": MulticlassJaccardIndex(num_classes, average="macro", ignore_index=ignore_index),
                "IoU": MulticlassJaccardIndex(num_classes, average="none", ignore_index=ignore_index),
                "confusion": MulticlassConfusionMatrix(num_classes, ignore_index=ignore_index),
            },
        )  # Jaccard and confusion matrix share one confusion-matrix state (torchmetrics compute groups)
        self.val_metrics = metrics.clone(prefix="val/")
        self.test_metrics = metrics.clone(prefix="test/")
        # loss_ce: the mean over every labelled pixel of the split, whatever the batches and processes (reduced as
        # float sums; Lightning's sync_dist mean truncates its integer batch count when processes differ in images)
        self.eval_loss = torch.nn.ModuleDict({"val": MeanMetric(), "test": MeanMetric()})
        self.inference: MultiScaleInference | None = None
        self.confusion: dict[str, Tensor] = {}  # stage → num_classes×num_classes (rows: target) of the last epoch

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)["out"]

    def compute_losses(self, outputs: dict[str, Tensor], masks: Tensor) -> dict[str, Tensor]:
        """Each loss term (unweighted) and their weighted sum under ``loss``."""
        hp = self.hparams
        terms = {"loss_ce": F.cross_entropy(outputs["out"], masks, ignore_index=hp.ignore_index)}
        weights = {"loss_ce": 1.0}
        if "aux" in outputs:
            terms["loss_aux"] = F.cross_entropy(outputs["aux"], masks, ignore_index=hp.ignore_index)
            weights["loss_aux"] = hp.aux_weight
        for key in ("se", "se3"):
            if key in outputs:
                terms[f"loss_{key}"] = self.se_loss(outputs[key].float(), masks)
                weights[f"loss_{key}"] = hp.se_loss_weight
        terms["loss"] = sum(weights[k] * v for k, v in terms.items())
        return terms

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        images, masks = batch
        losses = self.compute_losses(self.net(images), masks)
        batch_size = images.shape[0]
        loss = losses.pop("loss")
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        self.log_dict({f"train/{k}": v for k, v in losses.items()}, batch_size=batch_size)
        return loss

    def _eval_step(self, batch: tuple[Tensor, Tensor], metrics: MetricCollection, stage: str) -> None:
        images, masks = batch
        if stage == "test" and self.inference is not None:
            metrics.update(self.predict_labels(images), masks)
            return
        logits = self(images)
        loss = F.cross_entropy(logits, masks, ignore_index=self.hparams.ignore_index)
        self.eval_loss[stage].update(loss, weight=(masks != self.hparams.ignore_index).sum())
        metrics.update(logits.argmax(dim=1), masks)

    def _eval_epoch_end(self, metrics: MetricCollection, stage: str) -> None:
        values = metrics.compute()
        if self.eval_loss[stage].update_count:
            values[f"{stage}/loss_ce"] = self.eval_loss[stage].compute()
            self.eval_loss[stage].reset()
        per_class = values.pop(f"{stage}/IoU")
        self.confusion[stage] = confusion = values.pop(f"{stage}/confusion").detach().cpu()
        background = getattr(self._datamodule(), "background_index", None)
        if background is not None:
            values[f"{stage}/mIoU_excl_background"] = self._mean_iou(per_class, confusion, exclude=background)
        self.log_dict(values, prog_bar=True)
        names = self.class_names()
        self.log_dict({f"{stage}/IoU/{names[i]}": v for i, v in enumerate(per_class)})
        metrics.reset()

    @staticmethod
    def _mean_iou(per_class: Tensor, confusion: Tensor, exclude: int) -> Tensor:
        """Mean IoU over the classes present in target or prediction, class ``exclude`` left out."""
        present = (confusion.sum(0) + confusion.sum(1)) > 0
        present[exclude] = False
        return per_class[present.to(per_class.device)].mean() if present.any() else per_class.new_zeros(())

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._eval_step(batch, self.val_metrics, "val")

    def on_validation_epoch_end(self) -> None:
        self._eval_epoch_end(self.val_metrics, "val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._eval_step(batch, self.test_metrics, "test")

    def on_test_epoch_end(self) -> None:
        self._eval_epoch_end(self.test_metrics, "test")

    def predict_step(self, batch: Tensor | tuple[Tensor, ...], batch_idx: int) -> Tensor:
        """Batch of images (or (images, masks)) → B×H×W predicted labels."""
        images = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self.predict_labels(images)

    def predict_labels(self, images: Tensor) -> Tensor:
        """B×3×H×W → B×H×W labels, through ``self.inference`` (image by image) when it is set."""
        if self.inference is None:
            return self(images).argmax(dim=1)
        return torch.cat([self.inference(self, image[None]).argmax(dim=1) for image in images])

    def _datamodule(self) -> Any:
        return getattr(self._trainer, "datamodule", None) if self._trainer is not None else None

    def class_names(self) -> list[str]:
        """The datamodule's ``class_names`` when it has them, else ``class_0``, ``class_1`` …"""
        names = getattr(self._datamodule(), "class_names", None)
        return list(names) if names else [f"class_{i}" for i in range(self.hparams.num_classes)]

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        groups = [
            {"params": list(self.net.backbone.parameters()), "lr": hp.lr},
            {"params": self.net.head_parameters(), "lr": hp.lr * hp.head_lr_mult},
        ]
        optimizer = torch.optim.SGD(groups, lr=hp.lr, momentum=hp.momentum, weight_decay=hp.weight_decay)
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: max(1.0 - step / total, 0.0) ** hp.poly_power
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
