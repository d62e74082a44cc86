"""Lightning task for semantic segmentation: losses, metrics, optimiser and schedule of the paper's recipe.

loss = CE(out) + aux_weight·CE(aux) + se_loss_weight·(SE(se) + SE(se3))        (paper §3.3, §4.1)

SGD (momentum 0.9, weight decay 1e-4), backbone at ``lr`` and heads at ``lr × head_lr_mult``, poly schedule
lr·(1 − iter/max_iter)^0.9 stepped every iteration. pixAcc and mIoU (ignore 255) are torchmetrics
accumulated over the whole split (not averaged per image), one copy per stage. When the datamodule has a
``background_index`` (PASCAL-Context with 60 classes), ``mIoU`` counts background (the paper's Table 2
convention) and ``mIoU_excl_background`` is the mean over the other classes, from the same confusion matrix.

Validation runs the network once on each (resized) image; testing and prediction use ``inference``
(an :class:`encnet.inference.MultiScaleInference`, given by ``encnet-eval``) when it is set.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix, MulticlassJaccardIndex

from encnet.data.visualize import colour_table
from encnet.inference import MultiScaleInference
from encnet.models import SEGMENTORS
from encnet.nn import SELoss
from encnet.tasks.base import BaseTask


class SegmentationTask(BaseTask):
    """Wraps a segmentor (``arch``: ``encnet`` or ``fcn``). ``task(images)`` → logits B×num_classes×H×W.

    Args:
        arch: key of :data:`encnet.models.SEGMENTORS`.
        num_classes: classes (ignore label excluded).
        se_loss_weight: α of the SE-loss terms (paper: 0.2); applies to the CEM's and stage 3's. α = 0 means
            no SE-loss: an EncNet is then built without SE heads and without the stage-3 encoder.
        aux_weight: weight of the auxiliary stage-3 FCN loss.
        lr, momentum, weight_decay, head_lr_mult, poly_power: optimiser and schedule.
        warmup_steps: linear warm-up of the learning rate over the first steps (from lr / warmup_steps to the
            poly schedule's value; mmsegmentation's ``warmup='linear'``); 0 (the paper's recipe): none.
        ignore_index: label excluded from losses and metrics.
        class_names: the dataset's class names (id order), for per-class IoU; saved with the checkpoint.
        class_colours: RGB per class (id order) for overlays and legends, when the dataset defines them (a
            folder's ``classes.txt``); else :func:`encnet.data.visualize.palette`. Saved with the checkpoint.
        background_index: class id of a counted "background" class (PASCAL-Context 60), or None.
        inference: multi-scale / flip / window evaluation for test and predict (not saved).
        **net_kwargs: forwarded to the segmentor (``backbone``, ``num_codes``, ``head_channels`` …).
    """

    eval_loss_name = "loss_ce"

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
        warmup_steps: int = 0,
        ignore_index: int = 255,
        class_names: list[str] | None = None,
        class_colours: list[list[int]] | None = None,
        background_index: int | None = None,
        inference: MultiScaleInference | None = None,
        **net_kwargs: Any,
    ) -> None:
        super().__init__(num_classes, ignore_index, class_names, inference)
        self.save_hyperparameters(ignore=["inference"])
        if class_colours is not None and len(class_colours) != num_classes:
            raise ValueError(f"model.class_colours has {len(class_colours)} colours but num_classes={num_classes}")
        if arch not in SEGMENTORS:
            raise ValueError(f"model.arch must be one of {sorted(SEGMENTORS)}, got {arch!r}")
        if "se_loss" in net_kwargs:
            raise TypeError("model.se_loss is not an option: model.se_loss_weight=0 means no SE-loss (no SE heads)")
        if warmup_steps < 0:
            raise ValueError(f"model.warmup_steps must be ≥ 0, got {warmup_steps}")
        if se_loss_weight < 0:
            raise ValueError(f"model.se_loss_weight must be ≥ 0, got {se_loss_weight}")
        if arch == "encnet":
            net_kwargs["se_loss"] = se_loss_weight > 0
        try:
            self.net = SEGMENTORS[arch](num_classes=num_classes, **net_kwargs)
        except TypeError as err:  # an option the chosen segmentor does not take
            raise TypeError(f"model.arch={arch}: {err}") from None
        self.se_loss = SELoss(num_classes, ignore_index)
        self.setup_metrics()

    def build_metrics(self) -> MetricCollection:
        hp = self.hparams
        return MetricCollection(
            {
                "pixAcc": MulticlassAccuracy(hp.num_classes, average="micro", ignore_index=hp.ignore_index),
                "mIoU": MulticlassJaccardIndex(hp.num_classes, average="macro", ignore_index=hp.ignore_index),
                "IoU": MulticlassJaccardIndex(hp.num_classes, average="none", ignore_index=hp.ignore_index),
                "confusion": MulticlassConfusionMatrix(hp.num_classes, ignore_index=hp.ignore_index),
            },
        )  # Jaccard and confusion matrix share one confusion-matrix state (torchmetrics compute groups)

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)["out"]

    def colour_table(self) -> np.ndarray:
        """256×3 uint8 colours of the label values: the saved class colours, the palette beyond them."""
        return colour_table(self.hparams.get("class_colours"))

    def load_initial_weights(self) -> None:
        """The backbone's ImageNet weights (``backbone.pretrained``), read now, not at construction."""
        self.net.load_pretrained_weights()

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

    def log_epoch_metrics(self, values: dict[str, Tensor], stage: str) -> None:
        per_class = values.pop(f"{stage}/IoU")
        background = self.hparams.background_index
        if background is not None:
            values[f"{stage}/mIoU_excl_background"] = self._mean_iou(per_class, self.confusion[stage], background)
        self.log_dict(values, prog_bar=True)
        names = self.class_names()
        self.log_dict({f"{stage}/IoU/{names[i]}": v for i, v in enumerate(per_class)})

    @staticmethod
    def _mean_iou(per_class: Tensor, confusion: Tensor, exclude: int) -> Tensor:
        """Mean IoU over the classes present in target or prediction, class ``exclude`` left out."""
        present = (confusion.sum(0) + confusion.sum(1)) > 0
        present[exclude] = False
        return per_class[present.to(per_class.device)].mean() if present.any() else per_class.new_zeros(())

    def predict_labels(self, images: Tensor) -> Tensor:
        """B×3×H×W → B×H×W labels, through ``inference`` (image by image) when it is set."""
        return self.predict_scores(images).argmax(dim=1)

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        groups = [
            {"params": list(self.net.backbone.parameters()), "lr": hp.lr},
            {"params": self.net.head_parameters(), "lr": hp.lr * hp.head_lr_mult},
        ]
        optimizer = torch.optim.SGD(groups, lr=hp.lr, momentum=hp.momentum, weight_decay=hp.weight_decay)
        total = max(int(self.trainer.estimated_stepping_batches), 1)
        warmup = hp.get("warmup_steps", 0)  # absent from checkpoints written before the option

        def factor(step: int) -> float:
            poly = max(1.0 - step / total, 0.0) ** hp.poly_power
            return poly * min(1.0, (step + 1) / warmup) if warmup else poly

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}
