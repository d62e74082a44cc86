"""``logger=tensorboard``: a training run writes TensorBoard event files with its scalars; without tensorboardX
or tensorboard installed, one error naming the logger. ``logger=many``: each of its loggers writes its files."""

from __future__ import annotations

import csv
import importlib.util
import json
import struct

import pytest

from encnet.cli.train import run as train
from encnet.infra.loggers import TensorBoardLogger


def scalar_tags(path) -> set[str]:
    """The scalar tags of a TensorBoard event file (TFRecord: length u64, its CRC u32, Event proto, its CRC u32)."""
    from tensorboardX.proto.event_pb2 import Event

    data, tags, at = path.read_bytes(), set(), 0
    while at < len(data):
        (length,) = struct.unpack("<Q", data[at : at + 8])
        event = Event.FromString(data[at + 12 : at + 12 + length])
        tags |= {value.tag for value in event.summary.value}
        at += 12 + length + 4
    return tags


def test_tensorboard_logger_writes_event_files_with_the_run_scalars(compose_train, tmp_path):
    pytest.importorskip("tensorboardX")
    cfg = compose_train("logger=tensorboard", "trainer.max_epochs=1", "trainer.limit_train_batches=1")
    train(cfg)
    events = list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))
    assert events, list((tmp_path / "run").rglob("*"))
    tags = set().union(*(scalar_tags(path) for path in events))
    assert {"val/mIoU", "val/pixAcc", "val/loss_ce", "val/IoU/sky"} <= tags


def test_missing_tensorboard_packages_name_the_logger(monkeypatch, tmp_path):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: None)
    with pytest.raises(ModuleNotFoundError, match=r"logger=tensorboard .* pip install 'encnet\[tensorboard\]'"):
        TensorBoardLogger(save_dir=str(tmp_path))


def test_many_loggers_each_write_their_files(compose_train, tmp_path):
    """``logger=many`` (wandb and csv): one offline wandb run and one CSV log, each with the run's final mIoU."""
    cfg = compose_train("logger=many", "trainer.max_epochs=1", "trainer.limit_train_batches=1")
    assert set(cfg.logger) == {"wandb", "csv"}
    record = train(cfg)
    run = tmp_path / "run"
    (wandb_log,) = (run / "wandb").glob("offline-run-*/run-*.wandb")
    logged = wandb_log.read_bytes()  # the offline run's records (protobuf; logged values as JSON text)
    assert b'"val/mIoU"' in logged and json.dumps(record["val/mIoU"]).encode() in logged
    rows = list(csv.DictReader((run / "csv" / "version_0" / "metrics.csv").open()))
    logged = [float(row["val/mIoU"]) for row in rows if row["val/mIoU"]]
    assert logged[-1] == pytest.approx(record["val/mIoU"], abs=1e-7)
    assert (run / "csv" / "version_0" / "hparams.yaml").is_file()
