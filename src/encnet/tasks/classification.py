"""Lightning task for image classification (the paper's CIFAR-10 recipe, §3.5).

loss = cross-entropy. SGD (momentum 0.9, weight decay 5e-4, optional Nesterov) with a cosine schedule,
lr_t = lr · ½(1 + cos(π t / T)), stepped every iteration (``lr_interval: step``, T = all training steps) or
every epoch (``lr_interval: epoch``, T = max_epochs). Top-1 error (100 − accuracy, in %) is a torchmetrics
accuracy accumulated over the whole split and logged as ``val/top1_err`` and ``test/top1_err``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from encnet.models import CifarResNet
from encnet.tasks.base import BaseTask


class ClassificationTask(BaseTask):
    """Wraps :class:`encnet.models.CifarResNet`. ``task(images B×3×H×W)`` → logits B×num_classes.

    Args:
        num_classes: classes.
        lr, momentum, weight_decay, nesterov: SGD.
        lr_interval: ``step`` or ``epoch``, how often the cosine schedule advances.
        **net_kwargs: forwarded to the network (``width``, ``block``, ``num_codes``, ``shakeout`` …).
    """

    def __init__(
        self,
        num_classes: int = 10,
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        nesterov: bool = False,
        lr_interval: str = "step",
        **net_kwargs: Any,
    ) -> None:
        super().__init__(num_classes)
        self.save_hyperparameters()
        if lr_interval not in ("step", "epoch"):
            raise ValueError(f"model.lr_interval must be 'step' or 'epoch', got {lr_interval!r}")
        self.net = CifarResNet(num_classes=num_classes, **net_kwargs)
        self.setup_metrics()

    def build_metrics(self) -> MetricCollection:
        return MetricCollection({"accuracy": MulticlassAccuracy(self.hparams.num_classes, average="micro")})

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)

    def compute_losses(self, outputs: Tensor, labels: Tensor) -> dict[str, Tensor]:
        return {"loss": F.cross_entropy(outputs, labels)}

    def training_extras(self, outputs: Tensor, labels: Tensor) -> dict[str, Tensor]:
        return {"top1_err": 100.0 * (outputs.argmax(1) != labels).float().mean()}

    def log_epoch_metrics(self, values: dict[str, Tensor], stage: str) -> None:
        self.log(f"{stage}/top1_err", 100.0 * (1.0 - values[f"{stage}/accuracy"]), prog_bar=True)

    def configure_optimizers(self) -> dict[str, Any]:
        hp = self.hparams
        params = [p for p in self.parameters() if p.requires_grad]  # shakeout's s_k are not learnt
        optimizer = torch.optim.SGD(params, lr=hp.lr, momentum=hp.momentum, weight_decay=hp.weight_decay,
                                    nesterov=hp.nesterov)
        if hp.lr_interval == "step":
            total = int(self.trainer.estimated_stepping_batches)
        else:
            total = int(self.trainer.max_epochs)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total, 1))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": hp.lr_interval}}
