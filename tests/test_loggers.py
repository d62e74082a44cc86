"""``logger=tensorboard``: a training run writes TensorBoard event files with its scalars; without tensorboardX
or tensorboard installed, one error naming the logger."""

from __future__ import annotations

import importlib.util
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
