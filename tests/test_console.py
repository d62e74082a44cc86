"""A default training run's console: config (when asked), progress bar, model summary, results, no noise."""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import TINY

# Noise that dependencies print unless it is switched off at its source (encnet.infra.console).
NOISE = (
    "litlogger", "litmodels", "💡", "was configured so", "Seed set", "Trainer already configured",
    "TPU available", "Loading `train_dataloader`", "Warning", "deprecated", "LeafSpec", "anonymous", "\nwandb: ",
)


def test_default_run_prints_only_config_progress_summary_and_results(tmp_path):
    # the default run at test size: the wandb logger, the default callbacks (progress bar, model summary,
    # checkpoints, wandb media), the config printed
    tiny = [o for o in TINY if not o.startswith(("logger=", "callbacks=", "print_config", "trainer.enable"))]
    env = {**os.environ, "ENCNET_CACHE_DIR": str(tmp_path / "cache"), "NO_ALBUMENTATIONS_UPDATE": "1",
           "COLUMNS": "160"}
    env.pop("WANDB_SILENT", None)
    proc = subprocess.run([sys.executable, "-m", "encnet.cli.train", *tiny, "trainer.max_epochs=1",
                           "trainer.log_every_n_steps=1", f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    console = "\n" + proc.stdout + proc.stderr
    assert proc.returncode == 0, console[-3000:]
    for noise in NOISE:
        assert noise not in console, f"{noise!r} in:\n{console[-4000:]}"
    for wanted in ("config", "Trainable params", "val results", "val/mIoU", "metrics written to"):
        assert wanted in console, f"{wanted!r} missing in:\n{console[-4000:]}"
