"""wandb receives the validation images with their masks, the per-class IoU table and the confusion matrix
(read back from the offline run directory); the CSV logger works without wandb."""

from __future__ import annotations

import json

import wandb

from encnet.data.context_scenes import CLASSES
from encnet.train import train


def test_offline_run_holds_predictions_iou_table_and_confusion_matrix(compose_train, tmp_path):
    cfg = compose_train("logger=wandb", "callbacks=default", "callbacks.wandb_media.num_images=3",
                        "trainer.max_epochs=2", "trainer.log_every_n_steps=1")
    train(cfg)
    assert wandb.run is None  # ended: the next run of this process (a multirun job) gets its own
    (run,) = (tmp_path / "run" / "wandb").glob("offline-run-*")
    media = run / "files" / "media"
    passes, images = 2 + 1, 3  # two epochs, then train.py's validation of the final weights
    assert len(list((media / "images" / "val").glob("predictions_*.png"))) == passes * images
    masks = list((media / "images" / "mask" / "val").glob("predictions_*.mask.png"))
    assert len(masks) == passes * images * 2  # predicted and ground truth

    (iou_file,) = (media / "table" / "val").glob("per_class_iou_*.table.json")
    iou = json.loads(iou_file.read_text())
    assert iou["columns"] == ["class", "IoU", "pixels"]
    assert [row[0] for row in iou["data"]] == list(CLASSES)
    (cm_file,) = (media / "table" / "val").glob("confusion_matrix_table_*.table.json")
    cells = json.loads(cm_file.read_text())["data"]
    assert len(cells) == len(CLASSES) ** 2
    pixels = sum(row[2] for row in iou["data"])
    assert sum(cell[2] for cell in cells) == pixels > 0  # every labelled validation pixel, once


def test_csv_logger_without_wandb(compose_train, tmp_path):
    cfg = compose_train("logger=csv", "callbacks=default", "trainer.max_epochs=1", "trainer.log_every_n_steps=1")
    train(cfg)
    (metrics,) = (tmp_path / "run" / "csv").rglob("metrics.csv")
    assert "val/mIoU" in metrics.read_text().splitlines()[0]
    assert not (tmp_path / "run" / "wandb").exists()
