"""A diverging run stops at its first non-finite loss with one error naming the step and the term, exits
non-zero, writes no metrics.json and keeps its last good checkpoint."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from encnet.cli.train import run as train
from encnet.tasks import SegmentationTask
from encnet.tasks.base import DivergenceError
from tests.conftest import TINY


def test_nan_loss_term_stops_training(compose_train, tmp_path, monkeypatch):
    """The SE-loss term turns NaN at step 3 (epoch 1, batch 1; two steps per epoch): the error names both,
    epoch 0's checkpoint stays, and nothing claims success."""
    cfg = compose_train("callbacks=default", "callbacks.wandb_media=null", "trainer.max_epochs=3")
    original = SegmentationTask.compute_losses

    def compute_losses(self, outputs, masks):
        terms = original(self, outputs, masks)
        if self.trainer.global_step >= 3:
            terms["loss_se"] = terms["loss_se"] * float("nan")
            terms["loss"] = terms["loss"] * float("nan")
        return terms

    monkeypatch.setattr(SegmentationTask, "compute_losses", compute_losses)
    with pytest.raises(DivergenceError, match=r"at step 3 \(epoch 1, batch 1\): loss term loss_se = nan"):
        train(cfg)
    assert not (tmp_path / "run" / "metrics.json").exists()
    last = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 2
    assert all(torch.isfinite(v).all() for v in last["state_dict"].values() if v.is_floating_point())


@pytest.mark.slow
def test_huge_learning_rate_exits_nonzero(tmp_path, cache_dir):
    """``model.lr=1e8`` from the command line: exit status 1, the error on stderr, no metrics.json."""
    args = [*TINY, "model.lr=1e8", "trainer.max_epochs=5", f"paths.cache_dir={cache_dir}",
            f"hydra.run.dir={tmp_path / 'run'}"]
    proc = subprocess.run([sys.executable, "-m", "encnet.cli.train", *args], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, env=os.environ | {"OMP_NUM_THREADS": "1"})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "DivergenceError: training diverged at step" in proc.stderr and "loss term loss" in proc.stderr
    assert not (tmp_path / "run" / "metrics.json").exists()
