"""The Encoding kernels compiled ahead of time for real GPUs (no GPU needed): for every architecture, dtype, K and
kernel of a subset at least one configuration the runtime may pick, and every such one spill-free and within the
architecture's shared memory per block. Once with the installed Triton, once with Triton 3.6 (what GPU hosts
ship) where ``make test`` installed it under ``.venv/triton36``. The full matrix is the script's
(``python benchmarks/triton_resources.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from itertools import product
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "triton_resources.py"
TRITON36 = ROOT / ".venv" / "triton36"
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="Triton ships Linux wheels only")


def _table(tmp_path: Path, archs, dtypes, codes, pythonpath: Path | None = None) -> tuple[int, list[dict], str]:
    env = {key: value for key, value in os.environ.items() if key != "TRITON_INTERPRET"}  # compiled, not interpreted
    if pythonpath:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, str(SCRIPT), "--archs", *map(str, archs), "--dtypes", *dtypes, "--precision", "ieee",
           "--codes", *map(str, codes), "--cache", str(tmp_path / "cache"), "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr


def _check(rows: list[dict], archs, dtypes, codes) -> None:
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        assert "error" not in row, row
        kernel = row["kernel"].rsplit(".", 1)[1]
        groups.setdefault((row["arch"], row["dtype"], row["num_codes"], kernel), []).append(row)
        assert set(row) >= {"arch", "dtype", "num_codes", "kernel", "signature", "constexprs", "num_warps",
                            "num_stages", "registers", "spill_bytes", "shared_bytes", "shared_limit", "launchable"}
        assert row["launchable"] == (row["shared_bytes"] <= row["shared_limit"])
        if row["launchable"]:
            assert row["spill_bytes"] == 0 and 0 < row["registers"] <= 255, row
    kernels = ("_encoding_forward_kernel", "_encoding_backward_kernel")
    assert groups.keys() == set(product(archs, dtypes, codes, kernels))  # nothing left out
    for key, group in groups.items():
        assert any(row["launchable"] for row in group), key


def test_kernels_fit_every_architecture(tmp_path):
    archs, dtypes, codes = (80, 86, 90), ("fp32", "bf16"), (32, 128)  # the default K and the largest tiles
    returncode, rows, stderr = _table(tmp_path, archs, dtypes, codes)
    assert returncode == 0, stderr
    _check(rows, archs, dtypes, codes)


@pytest.mark.skipif(not (TRITON36 / ".installed").exists(),
                    reason="Triton 3.6 not installed under .venv/triton36 (make test installs it)")
def test_kernels_fit_under_triton_36(tmp_path):
    archs, dtypes, codes = (80, 90), ("fp32", "bf16"), (32, 128)
    returncode, rows, stderr = _table(tmp_path, archs, dtypes, codes, pythonpath=TRITON36)
    assert returncode == 0, stderr
    assert "Triton 3.6" in stderr  # it really compiled with 3.6
    _check(rows, archs, dtypes, codes)
