"""The GPU acceptance run: every GPU measurement the project needs, as one job of at most 8 minutes on one
CUDA GPU. Each step runs in a process of its own under its own time limit (plus what the steps before it
left unused), and a step that fails or runs out of time does not stop the next:

1. ``environment``: Python, torch, CUDA, Triton, Lightning, Hydra versions, the GPU, `nvidia-smi`;
2. ``kernel_tests``: `pytest tests/test_encoding_triton.py` (the GPU-only tests included);
3. ``triton_resources``: `benchmarks/triton_resources.py --json --loaded` for sm_90, fp32 and bf16, K = 32
   and 128 (registers and spills, the kernels autotune picked included);
4. ``encoding``: `benchmarks/encoding.py --json`, B=8 C=512 64×64 K=32, fp32 at each
   float32 matmul precision (highest, high, medium) and bf16;
5. ``precision``: `benchmarks/encoding_precision.py --json`, each dot-product policy's error against fp64;
6. ``throughput``: `benchmarks/segmentation_throughput.py --json`, 512×512 bf16, train batch 8,
   matmul and triton, compile off;
7. ``train``: the default experiment on one GPU (`encnet-train trainer=gpu logger=csv`), its val mIoU;
8. ``ddp``: one `fast_dev_run` batch through DDP with SyncBN on one GPU (`trainer=ddp trainer.devices=1`).

Writes ``OUT/report.md`` and ``OUT/<step>.json`` (command, status, seconds, parsed results, output tails);
runs and caches go to ``--work`` (not OUT). Exit status 0 when every step passed. Without a CUDA GPU it
stops with one line, unless ``GPU_CHECK_DRY_RUN=1``: then it rehearses every step on the CPU at tiny sizes
(the Triton kernels through the interpreter), a check of the job, not a measurement.

    python benchmarks/gpu_check.py OUT [--work DIR]          # make gpu-check OUT=DIR
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]  # the steps run here; their scripts are named relative to it
BENCHMARKS = Path("benchmarks")
BUDGET_S = 480  # the whole job, 8 minutes: the steps' own limits add up to 470 s, the rest is this process's
STARTED = time.perf_counter()
TAIL = 6000  # characters of each output stream kept in a step's JSON
PACKAGES = ("torch", "triton", "pytorch-lightning", "torchmetrics", "hydra-core", "omegaconf", "albumentations",
            "opencv-python-headless", "numpy", "wandb")
# The default run at CPU-instant size (tests/conftest.py's TINY, less what each step sets itself).
TINY_RUN = ["data.num_train=8", "data.num_val=4", "data.image_size=64", "data.base_size=64", "data.crop_size=48",
            "data.batch_size=4", "data.val_batch_size=2", "data.num_workers=0", "model.backbone.width=0.125",
            "model.head_channels=16", "trainer.max_epochs=1"]
TINY_NET = ["model.backbone.depth=18", "model.backbone.width=0.25", "model.head_channels=16", "model.num_codes=4"]


@dataclass
class Step:
    """One step: its command on a GPU and in the dry run (argv after the Python interpreter), its time limit,
    what is read from its output (stdout, the run directory) into the report, and the environment variables
    it must run without."""
    name: str
    title: str
    gpu: list[str]
    dry: list[str]
    timeout_s: int
    parse: Callable[[str, Path], Any] = field(default=lambda stdout, run_dir: None)
    unset: tuple[str, ...] = ()


def json_lines(stdout: str, run_dir: Path) -> list[dict]:
    """The JSON objects of stdout: one document (an object, or a list of them), else one per line."""
    try:
        whole = json.loads(stdout)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, (dict, list)):
        return [r for r in (whole if isinstance(whole, list) else [whole]) if isinstance(r, dict)]
    rows = []
    for line in stdout.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def last_json(stdout: str, run_dir: Path) -> dict | None:
    rows = json_lines(stdout, run_dir)
    return rows[-1] if rows else None


def pytest_counts(stdout: str, run_dir: Path) -> dict[str, int]:
    """The counts of pytest's last summary line (``3 passed, 2 skipped in 4.0s``)."""
    lines = [line for line in stdout.splitlines() if re.search(r"\b(passed|failed|skipped|error)", line)]
    found = re.findall(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)", lines[-1] if lines else "")
    return {kind: int(n) for n, kind in found}


def run_metrics(stdout: str, run_dir: Path) -> dict | None:
    """The run's metrics.json: its val/ and test/ metrics, less the per-class IoU."""
    path = run_dir / "metrics.json"
    if not path.is_file():
        return None
    record = json.loads(path.read_text())
    return {k: v for k, v in record.items() if isinstance(v, (int, float)) and "/" in k and "/IoU/" not in k}


def steps(work: Path) -> list[Step]:
    train = ["-m", "encnet.cli.train", "print_config=false", "trainer.enable_progress_bar=false",
             f"paths.cache_dir={work / 'cache'}"]
    encoding = [str(BENCHMARKS / "encoding.py"), "--json", "--codes", "32", "--dtypes", "fp32", "bf16",
                "--precision", "highest", "high", "medium"]
    resources = [str(BENCHMARKS / "triton_resources.py"), "--json", "--cache", str(work / "triton_resources")]
    throughput = [str(BENCHMARKS / "segmentation_throughput.py"), "--json", "--precision", "bf16",
                  "--impls", "matmul", "triton", "--compile", "off"]
    return [
        Step("environment", "versions, GPU, nvidia-smi", [str(BENCHMARKS / "gpu_check.py"), "--environment"],
             [str(BENCHMARKS / "gpu_check.py"), "--environment"], 10, last_json),
        Step("kernel_tests", "Triton kernels' tests (GPU-only tests included)",
             ["-m", "pytest", "-q", "-rfEs", "-p", "no:cacheprovider", "tests/test_encoding_triton.py"],
             ["-m", "pytest", "-q", "-rfEs", "-p", "no:cacheprovider", "tests/test_encoding_triton.py",
              "-k", "test_fp64_matches_reference and 2-24-37-5 or test_gpu_channels_last_bf16"], 105, pytest_counts),
        Step("triton_resources", "registers and spills of the kernels autotune picked",
             [*resources, "--loaded", "--archs", "90", "--dtypes", "fp32", "bf16", "--codes", "32", "128"],
             [*resources, "--archs", "90", "--dtypes", "fp32", "--codes", "16"],
             50, json_lines, unset=("TRITON_INTERPRET",)),  # compiles ahead of time, also without a GPU
        Step("encoding", "Encoding layer, B=8 C=512 64×64 K=32: fp32 at each matmul precision, bf16",
             [*encoding, "--batch", "8", "--channels", "512", "--size", "64"],
             [*encoding, "--device", "cpu", "--batch", "1", "--channels", "8", "--size", "4", "--repeat", "1",
              "--warmup", "0", "--impls", "matmul", "triton", "--dtypes", "fp32", "--precision", "highest"],
             70, json_lines),  # the dry run: one dtype and precision (bf16 through the interpreter takes 4 s a row)
        Step("precision", "error of each dot-product policy against fp64, B=4 C=512 N=4096 K=32",
             [str(BENCHMARKS / "encoding_precision.py"), "--json"],
             [str(BENCHMARKS / "encoding_precision.py"), "--json", "--device", "cpu", "--batch", "1", "--channels", "8",
              "--n", "16", "--codes", "4"], 25, json_lines),
        Step("throughput", "EncNet vs FCN, 512×512 bf16, train batch 8, matmul and triton, compile off",
             [*throughput, "--size", "512", "--train-batch", "8"],
             [*throughput, "--device", "cpu", "--size", "32", "--train-batch", "2", "--infer-batches", "1",
              "--repeat", "1", "--warmup", "0", "--impls", "triton", *TINY_NET],  # matmul: tests/test_benchmarks.py
             90, json_lines),
        Step("train", "the default experiment on one GPU (trainer=gpu logger=csv): val mIoU",
             [*train, "trainer=gpu", "logger=csv", f"hydra.run.dir={work / 'train'}"],
             [*train, "trainer=cpu", "logger=csv", f"hydra.run.dir={work / 'train'}", *TINY_RUN], 90, run_metrics),
        Step("ddp", "DDP + SyncBN fast_dev_run on one GPU (trainer=ddp trainer.devices=1)",
             [*train, "trainer=ddp", "trainer.devices=1", "trainer.fast_dev_run=true", "logger=none",
              f"hydra.run.dir={work / 'ddp'}"],
             [*train, "trainer=ddp_cpu", "trainer.devices=1", "trainer.fast_dev_run=true", "logger=none",
              f"hydra.run.dir={work / 'ddp'}", *TINY_RUN], 30, run_metrics),
    ]


def environment() -> dict[str, Any]:
    """What the GPU host runs: versions, the GPU torch sees, and nvidia-smi's output."""
    import torch

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    info: dict[str, Any] = {"python": platform.python_version(), "platform": platform.platform(), **versions,
                            "torch_cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available()}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info |= {"gpu": props.name, "capability": f"{props.major}.{props.minor}",
                 "gpu_memory_gib": round(props.total_memory / 2**30, 1), "sms": props.multi_processor_count,
                 "cudnn": torch.backends.cudnn.version()}
    smi = shutil.which("nvidia-smi")
    if smi is None:
        info["nvidia_smi"] = "not found"
    else:
        proc = subprocess.run([smi], capture_output=True, text=True, timeout=5)
        info["nvidia_smi"] = proc.stdout + proc.stderr
    return info


def run_step(step: Step, dry_run: bool, timeout_s: float, env: dict[str, str], work: Path) -> dict[str, Any]:
    """Run one step in its own process group (killed whole at the time limit); its record for the report."""
    argv = [sys.executable, *(step.dry if dry_run else step.gpu)]
    record: dict[str, Any] = {"step": step.name, "title": step.title, "command": argv, "timeout_s": round(timeout_s)}
    start = time.perf_counter()
    env = {k: v for k, v in env.items() if k not in step.unset}
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
        record["status"] = "passed" if proc.returncode == 0 else "failed"
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        record["status"] = "timed out"
    record |= {"returncode": proc.returncode, "seconds": round(time.perf_counter() - start, 1)}
    try:
        record["results"] = step.parse(stdout, work / step.name)
    except Exception as err:  # a step's output that cannot be read is reported, not fatal
        record["results"] = None
        record["parse_error"] = f"{type(err).__name__}: {err}"
    if record["status"] == "passed" and step.name == "kernel_tests" and record["results"].get("failed"):
        record["status"] = "failed"
    record |= {"stdout_tail": stdout[-TAIL:], "stderr_tail": stderr[-TAIL:]}
    return record


def table(rows: list[dict]) -> list[str]:
    """A Markdown table of the scalar fields of ``rows`` (columns in order of first appearance)."""
    columns = list(dict.fromkeys(k for r in rows for k, v in r.items() if not isinstance(v, (dict, list))))
    if not rows or not columns:
        return []
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))  # noqa: E731
    return ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns),
            *("| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows)]


def summary(record: dict[str, Any]) -> str:
    results = record.get("results")
    if record["step"] == "kernel_tests" and results:
        return ", ".join(f"{n} {kind}" for kind, n in results.items())
    if record["step"] in ("train", "ddp") and results:
        return ", ".join(f"{k} {v:.4f}" for k, v in results.items() if k in ("val/mIoU", "val/pixAcc"))
    if record["step"] == "environment" and results:
        return f"{results.get('gpu', 'no GPU')}, torch {results.get('torch')}, triton {results.get('triton')}"
    if isinstance(results, list):
        return f"{len(results)} rows"
    return ""


def report(records: list[dict], dry_run: bool, total_s: float) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"# GPU check{' (dry run on CPU: tiny sizes, not a measurement)' if dry_run else ''}", "",
             f"{when}, {platform.node()}, {total_s:.0f} s of a {BUDGET_S} s budget. "
             f"Command: `python benchmarks/gpu_check.py` (`make gpu-check`).", "",
             "| step | status | seconds | limit s | result |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r['step']} | {r['status']} | {r.get('seconds', '')} | {r['timeout_s']} | {summary(r)} |"
              for r in records]
    for r in records:
        lines += ["", f"## {r['step']}: {r['title']}", "", f"`python {' '.join(r['command'][1:])}`: {r['status']}"]
        results = r.get("results")
        if r["step"] == "environment" and results:
            lines += ["", "| | |", "| --- | --- |",
                      *(f"| {k} | {v} |" for k, v in results.items() if k != "nvidia_smi"),
                      "", "```", str(results.get("nvidia_smi", "")).strip(), "```"]
        elif isinstance(results, list):
            lines += ["", *table(results)]
        elif isinstance(results, dict):
            lines += ["", *table([results])]
        if r["status"] != "passed":
            tail = (r.get("stderr_tail") or r.get("stdout_tail") or "").strip().splitlines()[-15:]
            lines += ["", "```", *tail, "```"]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, nargs="?", help="report.md and one JSON file per step go here")
    p.add_argument("--work", type=Path, help="runs and dataset caches (default: a new temporary folder)")
    p.add_argument("--environment", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.environment:
        info = environment()
        print(json.dumps(info))
        sys.exit(0 if info["cuda_available"] or os.environ.get("GPU_CHECK_DRY_RUN") == "1" else 1)
    if args.out is None:
        p.error("give OUT, the folder for report.md and the steps' JSON files")
    dry_run = os.environ.get("GPU_CHECK_DRY_RUN") == "1"
    import torch

    if not dry_run and not torch.cuda.is_available():
        sys.exit("gpu_check: no CUDA GPU here (torch.cuda.is_available() is False); "
                 "GPU_CHECK_DRY_RUN=1 rehearses the steps on the CPU")
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.work or Path(tempfile.mkdtemp(prefix="encnet-gpu-check-"))
    env = dict(os.environ, PYTHONUNBUFFERED="1", NO_ALBUMENTATIONS_UPDATE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")])))
    if dry_run:  # the CPU path even where a GPU is visible, the kernels through the interpreter, one thread
        env |= {"CUDA_VISIBLE_DEVICES": "", "TRITON_INTERPRET": "1", "OMP_NUM_THREADS": "1"}
    else:  # one GPU: trainer=gpu would otherwise take every visible one
        env.setdefault("CUDA_VISIBLE_DEVICES", "0")
    plan, records = steps(work), []
    for i, step in enumerate(plan):
        # its own limit, plus what the steps before it left unused; the later steps' own limits are kept
        left = BUDGET_S - (time.perf_counter() - STARTED) - sum(s.timeout_s for s in plan[i + 1:])
        if left < 5:
            record = {"step": step.name, "title": step.title, "command": [sys.executable, *step.gpu],
                      "timeout_s": 0, "status": "not run (out of time)"}
        else:
            record = run_step(step, dry_run, left, env, work)
        print(f"gpu_check: {step.name}: {record['status']} ({record.get('seconds', 0)} s)", flush=True)
        (args.out / f"{step.name}.json").write_text(json.dumps(record, indent=1) + "\n")
        records.append(record)
    (args.out / "report.md").write_text(report(records, dry_run, time.perf_counter() - STARTED))
    print(f"gpu_check: {args.out / 'report.md'}")
    sys.exit(0 if all(r["status"] == "passed" for r in records) else 1)


if __name__ == "__main__":
    main()
