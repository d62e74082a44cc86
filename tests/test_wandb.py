"""wandb receives the validation images with their masks, the per-class IoU table and the confusion matrix
(read back from the offline run directory); without wandb, logger=csv and logger=none run and logger=wandb
says what it needs."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import wandb

from encnet.cli.train import run as train
from encnet.data.context_scenes import CLASSES
from encnet.infra.loggers import MISSING_WANDB

ROOT = Path(__file__).resolve().parents[1]


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


# Run in a fresh interpreter in which every import of wandb fails, as where it is not installed.
WITHOUT_WANDB = r"""
import json, sys
from pathlib import Path

class HideWandb:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "wandb":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, HideWandb())
from tests.conftest import TINY, _composer
from encnet.cli.train import run as train

tmp, results = Path(sys.argv[1]), {}
for logger in ("csv", "none", "wandb"):
    cfg = _composer("train", tmp / logger, tmp / "cache", TINY)(
        f"logger={logger}", "callbacks=default", "trainer.max_epochs=1", "trainer.log_every_n_steps=1")
    try:
        results[logger] = {"mIoU": train(cfg)["val/mIoU"]}
    except Exception as err:
        results[logger] = {"error": str(err)}
    results[logger]["wandb_imported"] = "wandb" in sys.modules
print(json.dumps(results))
"""


def test_csv_and_no_logger_run_without_wandb_and_wandb_logger_names_itself(tmp_path):
    proc = subprocess.run([sys.executable, "-c", WITHOUT_WANDB, str(tmp_path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    for logger in ("csv", "none"):
        assert "mIoU" in results[logger] and not results[logger]["wandb_imported"], results
    assert results["none"]["mIoU"] == results["csv"]["mIoU"]  # the same run, whichever logger
    (metrics,) = (tmp_path / "csv" / "run" / "csv").rglob("metrics.csv")
    logged = [float(row["val/mIoU"]) for row in csv.DictReader(metrics.open()) if row["val/mIoU"]]
    assert logged[-1] == pytest.approx(results["csv"]["mIoU"], abs=1e-7)  # the final validation, as reported
    assert not [path for logger in ("csv", "none") for path in (tmp_path / logger).rglob("wandb")]
    assert MISSING_WANDB in results["wandb"]["error"], results
