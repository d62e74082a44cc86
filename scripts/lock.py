"""scripts/lock.py [VENV]: write requirements-lock.txt, the exact versions that `make install` pins on a fresh CPU
venv. pip resolves the dev install anew (``--dry-run --ignore-installed``, torch held at the venv's), and every
package of that resolution is written as NAME==VERSION, except encnet, pip, setuptools, torch and triton (a CUDA
build of torch brings the triton it needs). Training numbers depend on these versions (the augmentation's OpenCV
warps and resizes): two installs train a run to the same numbers only with the same lock (and CPU kernels)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

UNPINNED = {"encnet", "torch", "triton", "setuptools", "pip"}
HEADER = """\
# The exact versions `make install` installs on a fresh CPU venv (pip constraints beside torch's own pin), so
# that a study run trains the same numbers on every machine that installs them. Regenerate: `make lock`
# (scripts/lock.py resolves the dev install anew and writes every package but encnet, pip, setuptools, torch
# and triton).
"""


def main(venv: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "--dry-run", "--ignore-installed",
                        "--report", str(report), "-c", str(venv / "constraints.txt"), "-e", ".[dev]"], check=True)
        resolved = json.loads(report.read_text())["install"]
    pins = sorted((item["metadata"]["name"], item["metadata"]["version"]) for item in resolved)
    lines = [f"{name}=={version}" for name, version in pins if name.lower() not in UNPINNED]
    Path("requirements-lock.txt").write_text(HEADER + "\n".join(lines) + "\n")
    print(f"requirements-lock.txt: {len(lines)} packages pinned")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ".venv"))
