"""`make gpu-check`: without a GPU it stops with one line; GPU_CHECK_DRY_RUN=1 rehearses every step on the
CPU at tiny sizes and writes the report and one JSON file per step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import load_script

ROOT = Path(__file__).resolve().parents[1]
STEPS = ["environment", "kernel_tests", "triton_resources", "encoding", "precision", "throughput", "train", "ddp"]


def test_step_limits_fit_the_eight_minutes():
    gpu_check = load_script(ROOT / "benchmarks" / "gpu_check.py")
    plan = gpu_check.steps(ROOT)
    assert [s.name for s in plan] == STEPS
    assert sum(s.timeout_s for s in plan) <= gpu_check.BUDGET_S - 10 and gpu_check.BUDGET_S == 8 * 60


def test_without_a_gpu_it_stops_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "GPU_CHECK_DRY_RUN"} | {"CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "benchmarks/gpu_check.py", str(tmp_path / "out")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [
        "gpu_check: no CUDA GPU here (torch.cuda.is_available() is False); "
        "GPU_CHECK_DRY_RUN=1 rehearses the steps on the CPU"]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_dry_run_rehearses_every_step(tmp_path):
    out = tmp_path / "out"
    env = os.environ | {"GPU_CHECK_DRY_RUN": "1"}
    proc = subprocess.run(["make", "--no-print-directory", "gpu-check", f"OUT={out}"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=400)
    records = {step: json.loads((out / f"{step}.json").read_text()) for step in STEPS}
    report = (out / "report.md").read_text()
    for step in STEPS:
        assert f"| {step} | passed |" in report and f"## {step}: " in report, report
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {step: r["status"] for step, r in records.items()} == dict.fromkeys(STEPS, "passed")
    assert records["environment"]["results"]["cuda_available"] is False
    assert records["kernel_tests"]["results"]["passed"] >= 1 and "failed" not in records["kernel_tests"]["results"]
    assert records["triton_resources"]["results"], "no resource rows"
    assert {r["impl"] for r in records["encoding"]["results"]} == {"matmul", "triton"}
    assert {r["impl"] for r in records["precision"]["results"]} == {"matmul", "triton"}
    throughput = {(r["arch"], r["impl"]) for r in records["throughput"]["results"]}
    assert throughput == {("fcn", "-"), ("encnet", "triton")}  # the dry run leaves matmul to test_benchmarks
    for step in ("train", "ddp"):
        assert 0 <= records[step]["results"]["val/mIoU"] <= 1
    assert sum(r["seconds"] for r in records.values()) < 480
