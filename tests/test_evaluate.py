"""Evaluation: metrics against a hand-computed confusion matrix, and ``encnet-eval`` end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra.utils import instantiate
from omegaconf.errors import MissingMandatoryValue

from encnet.cli.evaluate import run as evaluate
from encnet.cli.train import run as train
from encnet.data.context_scenes import CLASSES
from encnet.tasks import ClassificationTask, SegmentationTask
from encnet.tasks.loading import load_task

from .conftest import confusion_metrics

# 4 classes, 255 = ignore. Rows: target, columns: prediction.
TARGET = torch.tensor([[0, 0, 1, 1], [2, 255, 0, 1]])
PRED = torch.tensor([[0, 1, 1, 1], [0, 2, 0, 2]])
# confusion (valid pixels only): t0: p0 ×2, p1 ×1 · t1: p1 ×2, p2 ×1 · t2: p0 ×1 · class 3 absent
CONFUSION = np.array([[2, 1, 0, 0], [0, 2, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]])


def test_metrics_match_hand_computed_confusion_matrix():
    task = SegmentationTask(arch="fcn", num_classes=4, backbone={"depth": 18, "width": 0.125}, head_channels=8)
    metrics = task.metrics["test"]
    for t, p in zip(TARGET, PRED):  # two "images": accumulated over the split, not averaged per image
        metrics.update(p[None], t[None])
    values = metrics.compute()
    np.testing.assert_array_equal(values["test/confusion"].numpy(), CONFUSION)
    pix_acc, miou, iou = confusion_metrics(CONFUSION)
    assert pix_acc == pytest.approx(4 / 7) and miou == pytest.approx((2 / 4 + 2 / 4 + 0) / 3)
    assert values["test/pixAcc"].item() == pytest.approx(pix_acc)
    assert values["test/mIoU"].item() == pytest.approx(miou)  # absent class 3 is not averaged in
    np.testing.assert_allclose(values["test/IoU"].numpy(), iou, rtol=1e-6)
    # PASCAL-Context 60-class convention: the same matrix without the background class (index 0)
    no_bg = SegmentationTask._mean_iou(values["test/IoU"], values["test/confusion"], exclude=0)
    assert no_bg.item() == pytest.approx(confusion_metrics(CONFUSION, exclude=0)[1]) == pytest.approx((2 / 4 + 0) / 2)
    per_image = np.mean([confusion_metrics(np.array([[1, 1, 0, 0], [0, 2, 0, 0], [0] * 4, [0] * 4]))[0],
                         confusion_metrics(np.array([[1, 0, 0, 0], [0, 0, 1, 0], [1, 0, 0, 0], [0] * 4]))[0]])
    assert per_image != pytest.approx(pix_acc)  # the known case tells the two averaging schemes apart


@pytest.fixture
def trained(compose_train) -> dict:
    """metrics.json of a one-step training run (its val metrics come from the weights in last.ckpt)."""
    cfg = compose_train("callbacks=default", "trainer.max_epochs=1", "trainer.limit_train_batches=1",
                        "trainer.enable_progress_bar=true")
    return train(cfg)


@pytest.fixture
def checkpoint(trained) -> Path:
    return Path(trained["checkpoint"])


def test_whole_image_single_scale_eval_reproduces_validation(trained, compose_eval):
    """Same weights, same images (already at base size), one pass each: the two code paths must agree."""
    record = evaluate(compose_eval(f"ckpt_path={trained['checkpoint']}", "eval.mode=whole"))
    assert record["test/pixAcc"] == pytest.approx(trained["val/pixAcc"], abs=1e-6)
    assert record["test/mIoU"] == pytest.approx(trained["val/mIoU"], abs=1e-6)


def test_encnet_eval_multiscale_flip_sliding_window(checkpoint, compose_eval, tmp_path):
    cfg = compose_eval(f"ckpt_path={checkpoint}", "eval.scales=[0.75,1.0,1.5]", "eval.flip=true",
                       "eval.mode=slide", "data.crop_size=40")
    record = evaluate(cfg)
    run = tmp_path / "run"
    saved = json.loads((run / "metrics.json").read_text())
    assert saved == json.loads(json.dumps(record))
    assert saved["eval"]["scales"] == [0.75, 1.0, 1.5] and saved["eval"]["flip"] is True
    assert saved["model"] == "encnet"  # the checkpoint's network, what encnet-results groups evaluations by
    assert {"test/pixAcc", "test/mIoU", "test/IoU/sky", "test/IoU/door"} <= saved.keys()
    confusion = np.loadtxt(run / "confusion_matrix.csv", delimiter=",", dtype=np.int64)
    assert confusion.shape == (len(CLASSES), len(CLASSES))
    # every labelled pixel of the 4 val images, at the original 64×64 resolution, is counted once: the masks of
    # this run's dataset only (other tests write other datasets into the shared cache)
    val_masks = sorted((instantiate(cfg.data).root / "annotations" / "validation").glob("*.png"))
    assert len(val_masks) == cfg.data.num_val == 4
    from PIL import Image
    labelled = sum(int((np.asarray(Image.open(p)) != 0).sum()) for p in val_masks)
    assert confusion.sum() == labelled
    pix_acc, miou, _ = confusion_metrics(confusion)
    assert saved["test/pixAcc"] == pytest.approx(pix_acc, abs=1e-6)
    assert saved["test/mIoU"] == pytest.approx(miou, abs=1e-6)


def test_eval_errors_name_the_problem(checkpoint, compose_eval, tmp_path):
    with pytest.raises(MissingMandatoryValue, match="ckpt_path"):
        evaluate(compose_eval())
    with pytest.raises(FileNotFoundError, match="nope.ckpt"):
        evaluate(compose_eval(f"ckpt_path={tmp_path}/nope.ckpt"))
    with pytest.raises(ValueError, match="predicts 14 classes but data.num_classes=5"):
        load_task(checkpoint, num_classes=5)
    with pytest.raises(Exception, match="eval.mode"):
        evaluate(compose_eval(f"ckpt_path={checkpoint}", "eval.mode=tiles"))
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    with pytest.raises(ValueError, match=f"ckpt_path={truncated} is truncated"):
        evaluate(compose_eval(f"ckpt_path={truncated}"))
    blocked = tmp_path / "a_file"
    blocked.write_text("")
    with pytest.raises(PermissionError, match=f"paths.output_dir={blocked}/out cannot be written"):
        cfg = compose_eval(f"ckpt_path={checkpoint}")
        cfg.paths.output_dir = str(blocked / "out")
        evaluate(cfg)


def test_eval_names_a_classifier_checkpoint(tmp_path):
    """A CIFAR checkpoint given to encnet-eval: named as a classifier, with where its test error is."""
    task = ClassificationTask(width=8, num_codes=4)
    checkpoint = {"state_dict": task.state_dict(), "hyper_parameters": dict(task.hparams)}
    task.on_save_checkpoint(checkpoint)
    torch.save(checkpoint, tmp_path / "cifar.ckpt")
    del checkpoint["encnet_task"]  # written before the task was recorded: recognised by its hyperparameters
    torch.save(checkpoint, tmp_path / "old_cifar.ckpt")
    for name in ("cifar.ckpt", "old_cifar.ckpt"):
        with pytest.raises(ValueError, match=f"{name} holds a ClassificationTask .* not a segmentation model"):
            load_task(tmp_path / name)


def test_eval_cli_composes(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "encnet.cli.evaluate", "--cfg", "job", "ckpt_path=x.ckpt",
                           "eval.scales=[0.5,1.0]", "eval.flip=true"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "flip: true" in proc.stdout and "- 0.5" in proc.stdout and "ckpt_path: x.ckpt" in proc.stdout


def test_checkpoint_carries_class_names(checkpoint):
    """Class names reach the task through its constructor and are saved with it: a rebuilt model names its
    classes without any datamodule."""
    assert load_task(checkpoint).class_names() == list(CLASSES)
    assert SegmentationTask("fcn", 2, class_names=["a", "b"], backbone={"depth": 18, "width": 0.125},
                            head_channels=8).class_names() == ["a", "b"]
    with pytest.raises(ValueError, match="model.class_names has 1 names but num_classes=2"):
        SegmentationTask("fcn", 2, class_names=["a"], backbone={"depth": 18, "width": 0.125}, head_channels=8)
