"""What every Lightning task of the project shares: the training step with its divergence stop, and the
evaluation / prediction frame (one metric collection cloned per stage, accumulated over the whole split).

A task says only how its network's outputs become loss terms (:meth:`BaseTask.compute_losses`), which
metrics it keeps (:meth:`BaseTask.build_metrics`) and how an epoch's metric values are logged
(:meth:`BaseTask.log_epoch_metrics`); everything the run knows about its data (class names, a counted
background class) and about inference (multi-scale, flip, windows) comes in through the constructor.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import MeanMetric, MetricCollection

STAGES = ("val", "test")


class DivergenceError(FloatingPointError):
    """A loss term became NaN or infinite: the run stops instead of training on garbage."""


class BaseTask(pl.LightningModule):
    """Base of :class:`SegmentationTask` and :class:`ClassificationTask`.

    Args:
        num_classes: classes (an ignore label excluded).
        ignore_index: target value left out of losses and metrics (-100: none).
        class_names: the classes' names in id order, for per-class metrics (default ``class_<id>``); saved
            with the checkpoint.
        inference: callable ``inference(task, image 1×3×H×W) → scores 1×K×H×W`` used by test and predict
            (multi-scale evaluation); ``None`` = one forward pass. Not saved: an entry point sets it.
    """

    eval_loss_name = "loss"  # logged as ``{stage}/{eval_loss_name}`` on validation and test

    def __init__(self, num_classes: int, ignore_index: int = -100, class_names: list[str] | None = None,
                 inference: Any = None) -> None:
        super().__init__()
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"model.class_names has {len(class_names)} names but num_classes={num_classes}")
        self.ignore_index = ignore_index
        self.inference = inference
        self.confusion: dict[str, Tensor] = {}  # stage → confusion matrix of its last epoch, when kept

    # -- what a task provides ------------------------------------------------------------------------
    def build_metrics(self) -> MetricCollection:
        """The metrics of one stage, unprefixed; cloned per stage by :meth:`setup_metrics`."""
        raise NotImplementedError

    def compute_losses(self, outputs: Any, targets: Tensor) -> dict[str, Tensor]:
        """Each loss term (unweighted) and their weighted sum under ``loss``."""
        raise NotImplementedError

    def log_epoch_metrics(self, values: dict[str, Tensor], stage: str) -> None:
        """Log one stage's computed metric values (keys prefixed ``{stage}/``)."""
        self.log_dict(values, prog_bar=True)

    def training_extras(self, outputs: Any, targets: Tensor) -> dict[str, Tensor]:
        """Further training-batch values to log under ``train/`` (default none)."""
        return {}

    # -- shared frame --------------------------------------------------------------------------------
    def setup_metrics(self) -> None:
        """Call at the end of a subclass's constructor: one metric collection per evaluation stage."""
        metrics = self.build_metrics()
        self.metrics = torch.nn.ModuleDict({stage: metrics.clone(prefix=f"{stage}/") for stage in STAGES})
        # the evaluation loss: the mean over every target of the split (pixel or image), whatever the batches and
        # processes (reduced as float sums; Lightning's sync_dist mean truncates its integer batch count when
        # processes see unequal numbers of images, as distributed evaluation without repeats does)
        self.eval_loss = torch.nn.ModuleDict({stage: MeanMetric() for stage in STAGES})

    def load_initial_weights(self) -> None:
        """Load the network's initial (e.g. ImageNet) weights; none by default. Called when training starts
        from scratch, never when a checkpoint is rebuilt: a checkpoint does not need them again."""

    def class_names(self) -> list[str]:
        names = self.hparams.get("class_names")
        return list(names) if names else [f"class_{i}" for i in range(self.hparams.num_classes)]

    def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
        images, targets = batch
        outputs = self.net(images)
        terms = self.compute_losses(outputs, targets)
        self.stop_on_divergence(terms, batch_idx)
        batch_size = images.shape[0]
        loss = terms.pop("loss")
        self.log("train/loss", loss, prog_bar=True, batch_size=batch_size)
        extras = terms | self.training_extras(outputs, targets)
        self.log_dict({f"train/{k}": v for k, v in extras.items()}, batch_size=batch_size)
        return loss

    def stop_on_divergence(self, terms: dict[str, Tensor], batch_idx: int) -> None:
        """Raise :class:`DivergenceError` naming the step and the first non-finite term. Under DDP the ranks
        agree first (any rank diverged → every rank stops), so none is left waiting in a collective."""
        flags = torch.stack([torch.isfinite(value.detach()).all() for value in terms.values()])
        finite = dict(zip(terms, flags.tolist()))  # one device-to-host copy per step, not one per term
        diverged = not all(finite.values())
        if self.trainer.world_size > 1:
            diverged = self.trainer.strategy.reduce_boolean_decision(diverged, all=False)
        if diverged:
            bad = [name for name, ok in finite.items() if not ok and name != "loss"] or ["loss"]
            value = f"= {float(terms[bad[0]].detach().float().mean())}" if not finite[bad[0]] else "on another rank"
            raise DivergenceError(
                f"training diverged at step {self.trainer.global_step} (epoch {self.current_epoch}, batch "
                f"{batch_idx}): loss term {bad[0]} {value}; lower model.lr or check the data. Nothing was "
                "written for this run's end; its last good checkpoint is kept.")

    def forward(self, images: Tensor) -> Tensor:
        raise NotImplementedError

    def predict_scores(self, images: Tensor) -> Tensor:
        """B×3×H×W → class scores (B×K×H×W or B×K), through ``inference`` image by image when it is set."""
        if self.inference is None:
            return self(images)
        return torch.cat([self.inference(self, image[None]) for image in images])

    def _eval_step(self, batch: tuple[Tensor, Tensor], stage: str) -> None:
        images, targets = batch
        if stage == "test" and self.inference is not None:
            scores = self.predict_scores(images)
        else:
            scores = self(images)
            loss = F.cross_entropy(scores, targets, ignore_index=self.ignore_index)
            self.eval_loss[stage].update(loss, weight=(targets != self.ignore_index).sum())
        self.metrics[stage].update(scores.argmax(dim=1), targets)

    def _eval_epoch_end(self, stage: str) -> None:
        values = self.metrics[stage].compute()
        if self.eval_loss[stage].update_count:  # not when testing through `inference` (no loss then)
            self.log(f"{stage}/{self.eval_loss_name}", self.eval_loss[stage].compute())
            self.eval_loss[stage].reset()
        if f"{stage}/confusion" in values:
            self.confusion[stage] = values.pop(f"{stage}/confusion").detach().cpu()
        self.log_epoch_metrics(values, stage)
        self.metrics[stage].reset()

    def validation_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        self._eval_epoch_end("val")

    def test_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> None:
        self._eval_step(batch, "test")

    def on_test_epoch_end(self) -> None:
        self._eval_epoch_end("test")

    def predict_step(self, batch: Tensor | tuple[Tensor, ...], batch_idx: int) -> Tensor:
        """Batch of images (or (images, targets)) → predicted labels (B×H×W or B)."""
        images = batch[0] if isinstance(batch, (tuple, list)) else batch
        return self.predict_scores(images).argmax(dim=1)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["encnet_task"] = type(self).__name__  # lets an entry point name a checkpoint of another task
