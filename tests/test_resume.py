"""Crash safety: a training process killed with SIGKILL and resumed with ``ckpt_path=last`` ends with the
metrics of the run that was never interrupted; checkpoints are written atomically and checked before use."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from encnet.infra.checkpoint_files import AtomicCheckpointIO, require_checkpoint, resume_path
from tests.conftest import TINY

RUN = [o for o in TINY if o != "callbacks=none"] + [
    "callbacks.progress_bar=null", "callbacks.model_summary=null", "callbacks.lr_monitor=null",
    "callbacks.wandb_media=null", "trainer.max_epochs=3", "data.num_train=16", "data.num_workers=1",
]


def _train(tmp_path: Path, cache_dir: Path, log_dir: str, run: str, *extra: str) -> subprocess.Popen:
    args = [*RUN, f"paths.log_dir={tmp_path / log_dir}", f"paths.cache_dir={cache_dir}",
            f"hydra.run.dir={tmp_path / log_dir / 'train' / 'runs' / run}", *extra]
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "encnet.cli.train", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)


def _val_metrics(run_dir: Path) -> dict[str, float]:
    """The final val metrics and the per-epoch history (wall times left out) of a finished run."""
    record = json.loads((run_dir / "metrics.json").read_text())
    history = [{k: v for k, v in epoch.items() if k != "seconds"} for epoch in record["history"]]
    return {k: v for k, v in record.items() if k.startswith("val/")} | {"history": history}


@pytest.mark.slow
def test_killed_run_resumes_exactly(tmp_path, cache_dir):
    reference = _train(tmp_path, cache_dir, "ref", "a")
    out, _ = reference.communicate(timeout=600)
    assert reference.returncode == 0, out
    expected = _val_metrics(tmp_path / "ref" / "train" / "runs" / "a")

    crashed = _train(tmp_path, cache_dir, "crash", "a")
    last = tmp_path / "crash" / "train" / "runs" / "a" / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 600
    while not last.exists() and crashed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    # the run and its DataLoader worker at once, as a crash takes them (a worker left alive would hold the pipe)
    os.killpg(crashed.pid, signal.SIGKILL)  # no chance to clean up: whatever was being written stays as it is
    crashed.communicate(timeout=60)
    assert crashed.returncode == -signal.SIGKILL
    assert not (last.parent.parent / "metrics.json").exists(), "the run ended before it could be killed"
    epoch = torch.load(require_checkpoint(last), weights_only=True)["epoch"]

    resumed = _train(tmp_path, cache_dir, "crash", "b", "ckpt_path=last")
    out, _ = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, out
    record = json.loads((tmp_path / "crash" / "train" / "runs" / "b" / "metrics.json").read_text())
    assert record["resumed_from"] == str(last)
    assert len(expected["history"]) == 3 and expected["history"][-1]["val/mIoU"] == expected["val/mIoU"]
    assert _val_metrics(tmp_path / "crash" / "train" / "runs" / "b") == expected, f"resumed after epoch {epoch}"


def test_resume_path_finds_the_newest_run_of_the_same_experiment(tmp_path):
    runs = tmp_path / "logs" / "train"
    for name, overrides, age in (("old", ["seed=1"], 30), ("other", ["seed=2"], 0), ("new", ["seed=1"], 10)):
        run = runs / "runs" / name
        (run / ".hydra").mkdir(parents=True)
        (run / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
        AtomicCheckpointIO().save_checkpoint({"epoch": 0}, run / "checkpoints" / "last.ckpt")
        os.utime(run / "checkpoints" / "last.ckpt", (time.time() - age,) * 2)
    assert resume_path("last", runs, ["seed=1", "ckpt_path=last", "hydra.run.dir=x"]) == \
        runs / "runs" / "new" / "checkpoints" / "last.ckpt"
    assert resume_path(None, runs, []) is None
    with pytest.raises(FileNotFoundError, match=r"ckpt_path=last: no run .* \['seed=3'\]"):
        resume_path("last", runs, ["seed=3", "ckpt_path=last"])


def test_truncated_checkpoint_is_named(tmp_path):
    path = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"state_dict": {"w": torch.zeros(1000)}}, path)
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ValueError, match=f"ckpt_path={path} is truncated"):
        resume_path(str(path), tmp_path, [])


def test_checkpoint_write_is_atomic(tmp_path):
    """A writer killed in the middle of a save leaves the previous checkpoint whole, and no temporary file."""
    path = tmp_path / "last.ckpt"
    AtomicCheckpointIO().save_checkpoint({"epoch": 1}, path)
    # The child process dies (os._exit, as under SIGKILL: no cleanup) while torch.save is streaming the file.
    code = (
        "import os, sys, torch\n"
        "from encnet.infra.checkpoint_files import AtomicCheckpointIO\n"
        "class Die:\n"
        "    def __reduce__(self):\n"
        "        os._exit(9)\n"
        "AtomicCheckpointIO().save_checkpoint(\n"
        f"    {{'epoch': 2, 'big': torch.zeros(2**20), 'die': Die()}}, {str(path)!r})\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    assert torch.load(require_checkpoint(path), weights_only=True) == {"epoch": 1}
    leftovers = [p for p in tmp_path.iterdir() if p.name != "last.ckpt"]
    assert len(leftovers) <= 1  # the dead writer's own temporary file at most, never the checkpoint's name


def test_trainer_writes_checkpoints_atomically(compose_train):
    from encnet.cli.runner import build_trainer

    trainer = build_trainer(compose_train("callbacks=default"))
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)


def test_last_checkpoint_holds_the_final_weights(compose_train, tmp_path):
    """The best checkpoint stays at epoch 0 (monitor: epoch, mode min), yet last.ckpt is rewritten every epoch
    and metrics.json names it: it holds the weights the run ended with."""
    from encnet.cli.train import run as train

    cfg = compose_train("callbacks=default", "callbacks.wandb_media=null", "trainer.max_epochs=3",
                        "callbacks.model_checkpoint.monitor=epoch", "callbacks.model_checkpoint.mode=min")
    record = train(cfg)
    checkpoints = tmp_path / "run" / "checkpoints"
    assert sorted(p.name for p in checkpoints.iterdir()) == ["epoch000.ckpt", "last.ckpt"]
    assert record["checkpoint"] == str(checkpoints / "last.ckpt")
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["epoch"] == 2
