"""A full disk is one line naming the file, "no space left on device", the bytes needed and free: on a real
2 MiB tmpfs where this process may mount one, else with the write failing as a full disk fails (ENOSPC)."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from encnet.data.context_scenes import generate
from encnet.inference.export import export
from encnet.infra.checkpoint_files import AtomicCheckpointIO
from encnet.infra.outputs import DiskFullError, RecordingFile, save_image, write_text
from encnet.infra.reports import write_metrics
from encnet.models import FCN

SMALL_FS = 2 * 2**20


@pytest.fixture(params=["tmpfs", "patched"])
def full_dir(request, tmp_path, monkeypatch):
    """A directory with about 2 MiB of room: a real tmpfs (skipped where this process may not mount one), or
    one where the project's writes fail with ENOSPC past 2 MiB, as a full disk fails them."""
    target = tmp_path / "small"
    target.mkdir()
    mounted = False
    if request.param == "tmpfs":
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SMALL_FS}", "tmpfs", str(target)],
                                 capture_output=True).returncode == 0
        if not mounted:
            pytest.skip("no permission to mount a tmpfs here (the patched variant runs)")
    else:
        used = {"bytes": 0}  # by the files written so far; a failed file's bytes are freed (it is deleted)
        original = RecordingFile.write

        def write(self, data):
            size, mine = memoryview(data).nbytes, getattr(self, "bytes_so_far", 0)
            if used["bytes"] + size > SMALL_FS:
                used["bytes"] -= mine
                self.error = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                raise self.error
            used["bytes"] += size
            self.bytes_so_far = mine + size
            return original(self, data)

        monkeypatch.setattr(RecordingFile, "write", write)
    yield target
    if mounted:
        subprocess.run(["umount", str(target)], check=True)


def _assert_one_line(error: BaseException, path: Path, needed: int | None = None) -> None:
    message = str(error)
    assert "\n" not in message and f"cannot write {path}: no space left on device" in message, message
    numbers = [int(n.replace(",", "")) for n in message.split("(")[-1].split() if n[0].isdigit()]
    assert len(numbers) == 2 and numbers[0] > SMALL_FS  # bytes needed, bytes free
    if needed is not None:
        assert numbers[0] == needed


def test_checkpoint_write_on_a_full_disk_is_one_line_and_leaves_nothing(full_dir):
    checkpoint = {"state_dict": {"w": torch.zeros(2**20)}}  # 4 MiB of weights
    path = full_dir / "checkpoints" / "last.ckpt"
    with pytest.raises(DiskFullError) as info:
        AtomicCheckpointIO().save_checkpoint(checkpoint, path)
    _assert_one_line(info.value, path)
    assert info.value.errno == errno.ENOSPC
    assert list(path.parent.iterdir()) == []  # no truncated checkpoint, no temporary file


def test_metrics_prediction_export_and_cache_on_a_full_disk(full_dir):
    blob = "x" * (3 * 2**20)
    with pytest.raises(DiskFullError) as info:
        write_metrics(full_dir / "metrics.json", {"val/mIoU": 0.5}, {"note": blob})
    _assert_one_line(info.value, full_dir / "metrics.json")

    noise = np.random.default_rng(0).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)  # ~3 MiB as PNG
    with pytest.raises(DiskFullError) as info:
        save_image(noise, full_dir / "photo.png")
    _assert_one_line(info.value, full_dir / "photo.png")

    net = FCN(3, backbone={"depth": 18, "width": 0.5}, head_channels=64).eval()  # ~11 MiB of weights
    with pytest.raises(DiskFullError) as info:
        export(net, "torchscript", full_dir / "model.torchscript", example_shape=(1, 3, 32, 32))
    _assert_one_line(info.value, full_dir / "model.torchscript")

    with pytest.raises(DiskFullError) as info:
        generate(full_dir / "cache", num_train=300, num_val=0, image_size=64, seed=0)
    _assert_one_line(info.value, full_dir / "cache")  # the dataset's directory, with what all of it needs
    assert not (full_dir / "cache").exists()
    assert [p.name for p in full_dir.iterdir() if p.name.startswith(".cache")] == []  # the partial copy is gone


def test_other_write_errors_stay_as_they_are(tmp_path):
    with pytest.raises(IsADirectoryError):
        write_text(tmp_path, "x")
