"""scripts/study-run: one run of a study, from the code snapshot, its metrics.json copied to results/, skipped once
it has finished, and refused without a snapshot; resumed on a fresh machine from the checkpoint `make study-save`
left in results/unfinished/ (refused from another snapshot's); STUDY_APP=evaluate: an encnet-eval run of a
checkpoint; `make study-save`; and the weights-only checkpoint of a finished curve run (a Makefile target)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import TINY

REPO = Path(__file__).resolve().parents[1]


def _study_run(cwd: Path, cache_dir: Path, *args: str, app: str = "train",
               epochs: int = 2) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHON": sys.executable, "STUDY_APP": app}
    tiny = TINY if app == "train" else [o for o in TINY if o.startswith(("data.", "trainer.", "print_config"))]
    return subprocess.run([str(REPO / "scripts" / "study-run"), *args, *tiny, f"trainer.max_epochs={epochs}",
                           f"paths.cache_dir={cache_dir}"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def test_study_run_trains_copies_and_skips(tmp_path, cache_dir, tiny_checkpoint):
    refused = _study_run(tmp_path, cache_dir, "study/fcn/s0", "model=fcn")
    assert refused.returncode == 2 and "no code snapshot in logs/study/code" in refused.stderr
    code = tmp_path / "logs" / "study" / "code"
    code.mkdir(parents=True)
    for part in ("src", "conf"):
        (code / part).symlink_to(REPO / part)
    (code / "COMMIT").write_text("test\n")
    first = _study_run(tmp_path, cache_dir, "study/fcn/s0", "model=fcn", "seed=3")
    assert first.returncode == 0, first.stdout + first.stderr
    record = json.loads((tmp_path / "results" / "study" / "fcn" / "s0" / "metrics.json").read_text())
    assert record["seed"] == 3 and [e["epoch"] for e in record["history"]] == [0, 1]
    assert (tmp_path / "logs" / "study" / "study" / "fcn" / "s0" / "metrics.json").is_file()
    assert not list((tmp_path / "results").rglob("*.ckpt"))  # checkpoints stay under logs/
    environment = (tmp_path / "results" / "study" / "fcn" / "s0" / "environment.txt").read_text()
    assert environment.startswith("# ") and " train, code test: " in environment  # the sitting, then its packages
    assert f"python=={sys.version.split()[0]}" in environment and "\ntorch==" in environment
    again = _study_run(tmp_path, cache_dir, "study/fcn/s0", "model=fcn", "seed=3")
    assert again.returncode == 0 and "done already" in again.stdout
    # A fresh machine: no logs/study/<run>/, only what `make study-save` committed (here: 2 of 3 epochs).
    saved = tmp_path / "results" / "unfinished" / "study" / "fcn" / "s1"
    saved.mkdir(parents=True)
    [end] = (tmp_path / "logs" / "study" / "study" / "fcn" / "s0").rglob("*.ckpt")  # callbacks=none: Lightning's own
    shutil.copy(end, saved / "last.ckpt")
    (saved / "CODE_COMMIT").write_text("other\n")
    other = _study_run(tmp_path, cache_dir, "study/fcn/s1", "model=fcn", "seed=3", epochs=3)
    assert other.returncode == 2
    assert f"{saved.relative_to(tmp_path)}/last.ckpt was trained with code other" in other.stderr
    (saved / "CODE_COMMIT").write_text("test\n")
    (saved / "environment.txt").write_text("# the earlier sitting\nnumpy==1\n")
    resumed = _study_run(tmp_path, cache_dir, "study/fcn/s1", "model=fcn", "seed=3", epochs=3)
    assert resumed.returncode == 0 and "restored" in resumed.stdout, resumed.stdout + resumed.stderr
    record = json.loads((tmp_path / "results" / "study" / "fcn" / "s1" / "metrics.json").read_text())
    assert [e["epoch"] for e in record["history"]] == [0, 1, 2] and record["resumed_from"].endswith("last.ckpt")
    environment = (tmp_path / "results" / "study" / "fcn" / "s1" / "environment.txt").read_text()
    assert environment.startswith("# the earlier sitting\nnumpy==1\n# ") and ", resumed: " in environment
    assert not saved.exists()  # removed once the run has finished
    ckpt = tiny_checkpoint  # a default EncNet's training checkpoint
    evaluated = _study_run(tmp_path, cache_dir, "eval/msflip", f"ckpt_path={ckpt}", "inference@eval=msflip",
                           app="evaluate")  # the override reaches encnet-eval: flip is off by default
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
    record = json.loads((tmp_path / "results" / "eval" / "msflip" / "metrics.json").read_text())
    assert record["model"] == "encnet" and record["ckpt_path"] == str(ckpt) and "test/mIoU" in record
    assert record["eval"]["flip"] is True
    wrong = _study_run(tmp_path, cache_dir, "eval/x", app="predict")
    assert wrong.returncode == 2 and "STUDY_APP must be train or evaluate, got 'predict'" in wrong.stderr


def test_a_run_held_by_another_process_is_skipped(tmp_path, cache_dir):
    code = tmp_path / "logs" / "study" / "code"
    code.mkdir(parents=True)
    (code / "COMMIT").write_text("test\n")
    run = tmp_path / "logs" / "study" / "busy" / "s0"
    run.mkdir(parents=True)
    holder = subprocess.Popen(["flock", str(run / ".lock"), "sleep", "60"])
    try:
        for _ in range(100):  # until the holder has the lock
            if subprocess.run(["flock", "-n", str(run / ".lock"), "true"]).returncode:
                break
            time.sleep(0.05)
        skipped = _study_run(tmp_path, cache_dir, "busy/s0", "model=fcn")
    finally:
        holder.kill()
    assert skipped.returncode == 0 and "running in another process, skipped" in skipped.stdout
    assert not (tmp_path / "results" / "busy").exists()


def test_weights_only_checkpoint_of_a_finished_curve_run(tmp_path, tiny_checkpoint):
    """make results/checkpoints/context_scenes_<size>px_<model>_s<seed>.ckpt: the run's last.ckpt without optimizer,
    loop or random state, loadable as a task; refused while the run has not finished."""
    from encnet.tasks import load_task

    run = tmp_path / "logs" / "study" / "curves" / "64px" / "encnet" / "s0" / "checkpoints"
    run.mkdir(parents=True)
    shutil.copy(tiny_checkpoint, run / "last.ckpt")
    target = "results/checkpoints/context_scenes_64px_encnet_s0.ckpt"
    venv = Path(sys.executable).parent.parent
    make = ["make", "--no-print-directory", "-s", "-f", str(REPO / "Makefile"), f"VENV={venv}", target]
    refused = subprocess.run(make, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2
    assert "the run has not finished (results/curves/64px/encnet/s0/metrics.json missing)" in refused.stderr
    (tmp_path / "results" / "curves" / "64px" / "encnet" / "s0").mkdir(parents=True)
    (tmp_path / "results" / "curves" / "64px" / "encnet" / "s0" / "metrics.json").write_text("{}")
    (tmp_path / "results" / "checkpoints").mkdir()
    made = subprocess.run(make, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stdout + made.stderr
    slim = torch.load(tmp_path / target, map_location="cpu", weights_only=True)
    assert "optimizer_states" not in slim and "loops" not in slim and "state_dict" in slim
    full = torch.load(tiny_checkpoint, map_location="cpu", weights_only=False)
    assert all(torch.equal(full["state_dict"][k], v) for k, v in slim["state_dict"].items())
    assert load_task(tmp_path / target, 14) is not None


def test_weights_only_refuses_a_file_without_weights(tmp_path):
    """save_weights_only on a checkpoint-shaped file with no state_dict: one error naming the file, nothing written."""
    from encnet.tasks.loading import save_weights_only

    torch.save({"epoch": 3}, tmp_path / "bare.ckpt")
    with pytest.raises(ValueError, match=r"ckpt_path=.*bare\.ckpt has no state_dict"):
        save_weights_only(tmp_path / "bare.ckpt", tmp_path / "out.ckpt")
    assert not (tmp_path / "out.ckpt").exists()


def test_study_save_keeps_the_unfinished_runs_checkpoints(tmp_path):
    """make study-save: the last.ckpt, code commit and environment of every run without a result, nothing of
    finished runs."""
    for name, finished in (("curves/384px/fcn/s0", False), ("curves/384px/encnet/s0", True)):
        run = tmp_path / "logs" / "study" / name
        (run / "checkpoints").mkdir(parents=True)
        (run / "checkpoints" / "last.ckpt").write_bytes(name.encode())
        (run / "CODE_COMMIT").write_text("abc\n")
        (run / "environment.txt").write_text("numpy==1\n")
        if finished:
            (tmp_path / "results" / name).mkdir(parents=True)
            (tmp_path / "results" / name / "metrics.json").write_text("{}")
    proc = subprocess.run(["make", "--no-print-directory", "-s", "-f", str(REPO / "Makefile"), "study-save"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    saved = tmp_path / "results" / "unfinished"
    assert (saved / "curves/384px/fcn/s0/last.ckpt").read_bytes() == b"curves/384px/fcn/s0"
    assert (saved / "curves/384px/fcn/s0/CODE_COMMIT").read_text() == "abc\n"
    assert (saved / "curves/384px/fcn/s0/environment.txt").read_text() == "numpy==1\n"
    assert not (saved / "curves/384px/encnet").exists()
    assert proc.stdout.strip() == "curves/384px/fcn/s0: saved to results/unfinished/curves/384px/fcn/s0/last.ckpt"
