"""``cluster=slurm`` (hydra-submitit-launcher): the SLURM request follows the trainer's shape; a sweep through
submitit's local executor runs each job in a process of its own and each writes its metrics.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from encnet.data.context_scenes import CLASSES

from .conftest import TINY

pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="pip install 'encnet[slurm]'")


@pytest.mark.parametrize(("devices", "num_nodes"), [(None, None), (4, 2)])
def test_slurm_request_follows_trainer(compose_train, devices, num_nodes):
    shape = [f"trainer.devices={devices}", f"trainer.num_nodes={num_nodes}"] if devices else []
    cfg = compose_train("cluster=slurm", "trainer=ddp", *shape)
    launcher = cfg.hydra.launcher
    assert launcher._target_ == "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher"
    assert cfg.hydra.runtime.choices["hydra/launcher"] == "submitit_slurm"
    assert launcher.tasks_per_node == launcher.gpus_per_node == cfg.trainer.devices == (devices or 1)
    assert launcher.nodes == cfg.trainer.num_nodes == (num_nodes or 1)
    assert cfg.trainer.strategy == "ddp" and cfg.trainer.sync_batchnorm


@pytest.mark.slow
def test_submitit_local_sweep_runs_each_job(tmp_path):
    tiny = [o for o in TINY if not o.startswith("callbacks=")]
    env = {**os.environ, "ENCNET_CACHE_DIR": str(tmp_path / "cache"), "NO_ALBUMENTATIONS_UPDATE": "1",
           "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "encnet.cli.train", "-m", "hydra/launcher=submitit_local",
                           "hydra.launcher.timeout_min=5", "seed=0,1", *tiny, "callbacks=none",
                           "trainer.fast_dev_run=true", f"hydra.sweep.dir={tmp_path}/sweep"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    records = [json.loads((tmp_path / "sweep" / job / "metrics.json").read_text()) for job in ("0", "1")]
    assert [r["seed"] for r in records] == [0, 1]
    for job, record in enumerate(records):  # each job wrote its own results, from its own config
        assert f"seed={job}" in record["overrides"]
        assert record["config"]["paths"]["output_dir"] == str(tmp_path / "sweep" / str(job))
        assert {f"val/IoU/{name}" for name in CLASSES} <= record.keys()
    assert records[0]["val/mIoU"] != records[1]["val/mIoU"]  # two runs, not one run's results twice
    assert len(list((tmp_path / "sweep" / ".submitit").glob("*/*_submitted.pkl"))) == 2  # submitted by submitit
