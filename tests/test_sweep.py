"""``hparams_search=encnet_optuna``: an Optuna study over α, K and lr, maximising val/mIoU (two tiny trials)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from omegaconf import OmegaConf

from .conftest import TINY


@pytest.mark.slow
def test_optuna_sweep_two_trials(tmp_path):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper")
    env = {**os.environ, "ENCNET_CACHE_DIR": str(tmp_path / "cache"), "NO_ALBUMENTATIONS_UPDATE": "1"}
    proc = subprocess.run([sys.executable, "-m", "encnet.cli.train", "hparams_search=encnet_optuna",
                           "hydra.sweeper.n_trials=2", *TINY, "trainer.max_epochs=1",
                           f"hydra.sweep.dir={tmp_path}/sweep"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    trials = [json.loads(p.read_text()) for p in sorted((tmp_path / "sweep").glob("*/metrics.json"))]
    assert len(trials) == 2
    for trial in trials:
        swept = {o.split("=")[0] for o in trial["overrides"]}
        assert {"model.se_loss_weight", "model.num_codes", "model.lr"} <= swept
    best = OmegaConf.load(tmp_path / "sweep" / "optimization_results.yaml")
    assert best.best_value == pytest.approx(max(t["val/mIoU"] for t in trials))
    assert set(best.best_params) == {"model.se_loss_weight", "model.num_codes", "model.lr"}
