"""Registers, spills and shared memory of the Encoding kernels, compiled ahead of time for GPUs this machine
need not have.

    python benchmarks/triton_resources.py                       # the full matrix, a table
    python benchmarks/triton_resources.py --archs 80 86 90 --dtypes fp32 bf16 --codes 16 32 128 --json
    python benchmarks/triton_resources.py --configs before      # the tiles the kernels had before re-tiling
    python benchmarks/triton_resources.py --loaded              # on a GPU, for its own architecture: also
                                                                #   what the loaded kernels report for the
                                                                #   configurations autotune picked

Each row is one kernel (``encnet.nn.triton_kernels``'s forward or backward) compiled by
``triton.compile(ASTSource(...), target=GPUTarget("cuda", arch, 32))`` for one architecture, input dtype,
dot-product policy (:mod:`encnet.nn.precision`), number of codewords K and launch configuration (tiles,
num_warps, num_stages) among the autotune candidates of :mod:`encnet.nn.triton_tiles`. Registers and spills
are what ``ptxas -v`` reports for that cubin, shared memory is the dynamic shared memory the launch needs.
A row is ``launchable`` when the runtime may pick it on that architecture: a candidate whose shared memory
fits the per-block limit (Triton's autotuner drops the others when they fail to launch). Compiled rows are
cached by source hash under ``--cache`` and compiled on ``--jobs`` processes.

The script exits 1 when an architecture × dtype × K × kernel has no launchable configuration, or a launchable
one spills or needs more shared memory than the limit (``--configs before`` only reports).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("TRITON_DEFAULT_FP_FUSION", "1")  # the runtime's default, stated (Triton 3.9 warns otherwise)
os.environ["TRITON_ALWAYS_COMPILE"] = "1"  # a kernel from Triton's own cache would skip ptxas, and its log

import triton  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.compiler import ASTSource  # noqa: E402

from encnet.nn import triton_kernels as kernels  # noqa: E402
from encnet.nn import triton_tiles  # noqa: E402

KERNELS = {"forward": kernels._encoding_forward_kernel, "backward": kernels._encoding_backward_kernel}
# Input dtype → the dot-product policies the runtime may use for it on sm_80+, and before (no TF32, no bf16).
POLICIES = {"fp32": ("ieee", "tf32", "bf16"), "bf16": ("bf16",), "fp16": ("fp16",), "fp64": ("ieee",)}
POLICIES_BEFORE_SM80 = {"fp32": ("ieee",), "bf16": ("ieee",), "fp16": ("fp16",), "fp64": ("ieee",)}
TRITON_TYPE = {"fp32": "fp32", "bf16": "bf16", "fp16": "fp16", "fp64": "fp64"}
X_POINTERS = {"x_ptr", "dx_ptr"}  # in x's dtype; every other pointer is in the compute dtype
UNIT_STRIDES = {"stride_xn", "stride_dn"}  # contiguous x: the runtime specialises a stride of 1 as a constant


def default_archs() -> list[int]:
    """sm_75–sm_90, and the Blackwell targets where the installed Triton compiles for them."""
    archs = [75, 80, 86, 89, 90]
    if triton_tiles.triton_version() >= (3, 3):
        archs += [100, 120]
    return archs


def signature(kernel: str, dtype: str) -> tuple[dict[str, str], dict[str, int]]:
    """``ASTSource``'s signature and the constexprs that the runtime specialises (unit strides) for ``kernel``."""
    compute = "fp64" if dtype == "fp64" else "fp32"
    sig, constexprs = {}, {}
    for param in KERNELS[kernel].params:
        name = param.name
        if param.is_constexpr:
            sig[name] = "constexpr"
        elif name in UNIT_STRIDES:
            sig[name], constexprs[name] = "constexpr", 1
        elif name.endswith("_ptr"):
            sig[name] = "*" + (TRITON_TYPE[dtype] if name in X_POINTERS else compute)
        else:
            sig[name] = "i32"
    return sig, constexprs


def specs(args: argparse.Namespace) -> list[dict]:
    """Every row to compile: arch × dtype × policy × K × kernel × candidate configuration."""
    rows = []
    for arch in args.archs:
        for dtype in args.dtypes:
            if dtype not in triton_tiles.GPU_DTYPES:
                continue  # fp64 runs by the matmul form on GPUs
            policies = (POLICIES if arch >= 80 else POLICIES_BEFORE_SM80)[dtype]
            for policy in policies:
                if dtype == "fp32" and args.precision and policy not in args.precision:
                    continue
                for k in args.codes:
                    for kernel in args.kernels:
                        configs = (triton_tiles.before(kernel, k) if args.configs == "before"
                                   else triton_tiles.candidates(kernel, k, policy, dtype, arch))
                        for config in configs:
                            sig, constexprs = signature(kernel, dtype)
                            constexprs = {**constexprs, **config.kwargs, "BLOCK_K": triton_tiles.block_k(k),
                                          "DOT": policy}
                            rows.append({
                                "arch": arch, "dtype": dtype, "precision": policy, "num_codes": k,
                                "kernel": f"{kernels.__name__}.{KERNELS[kernel].__name__}",
                                "signature": sig, "constexprs": constexprs,
                                "num_warps": config.num_warps, "num_stages": config.num_stages,
                            })
    return rows


def _ptxas_log(compile_fn) -> tuple[object, str]:
    """Run ``compile_fn`` with Triton printing ptxas's verbose log, and return its result and that log."""
    knobs = triton.knobs.nvidia
    previous, knobs.dump_ptxas_log = knobs.dump_ptxas_log, True
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            result = compile_fn()
    finally:
        knobs.dump_ptxas_log = previous
    return result, out.getvalue()


def _field(pattern: str, log: str) -> int:
    match = re.search(pattern, log)
    return int(match.group(1)) if match else 0


def _source(row: dict) -> ASTSource:
    """The row's kernel as ``triton.compile`` takes it."""
    fn = next(fn for fn in KERNELS.values() if row["kernel"].endswith("." + fn.__name__))
    return ASTSource(fn=fn, signature=row["signature"], constexprs=row["constexprs"])


def compile_row(row: dict) -> dict:
    """Compile one row and add its resources: registers, spill bytes (stores + loads), stack, shared bytes."""
    source = _source(row)
    target = GPUTarget("cuda", row["arch"], 32)
    options = {"num_warps": row["num_warps"], "num_stages": row["num_stages"]}
    try:
        compiled, log = _ptxas_log(lambda: triton.compile(source, target=target, options=options))
    except Exception as err:  # noqa: BLE001 — a configuration that does not compile is a row with the error
        return {**row, "error": f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"}
    if "registers" not in log:
        return {**row, "error": "ptxas printed no resource usage"}
    return {
        **row,
        "registers": _field(r"Used (\d+) registers", log),
        "spill_bytes": _field(r"(\d+) bytes spill stores", log) + _field(r"(\d+) bytes spill loads", log),
        "stack_bytes": _field(r"(\d+) bytes stack frame", log),
        "shared_bytes": compiled.metadata.shared,
    }


def _cache_key(row: dict) -> str:
    key = f"{triton.__version__}|{_source(row).hash()}|{row['arch']}|{row['num_warps']}|{row['num_stages']}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def resources(rows: list[dict], cache: Path, jobs: int) -> list[dict]:
    """Each row with its resources, from the cache or compiled (in ``jobs`` processes)."""
    cache.mkdir(parents=True, exist_ok=True)
    paths = [cache / f"{_cache_key(row)}.json" for row in rows]
    todo = [i for i, path in enumerate(paths) if not path.exists()]
    if todo:
        print(f"compiling {len(todo)} of {len(rows)} configurations on {jobs} processes "
              f"(Triton {triton.__version__}) ...", file=sys.stderr)
        with ProcessPoolExecutor(jobs) as pool:
            for i, result in zip(todo, pool.map(compile_row, [rows[i] for i in todo])):
                if "error" not in result:
                    paths[i].write_text(json.dumps(result))
                else:
                    rows[i] = result
    out = []
    for row, path in zip(rows, paths):
        if "error" in row:
            out.append(row)
            continue
        out.append(json.loads(path.read_text()))
    for row in out:
        row["shared_limit"] = triton_tiles.SHARED_LIMIT[row["arch"]]
        row["launchable"] = "error" not in row and row["shared_bytes"] <= row["shared_limit"]
    return out


def problems(rows: list[dict]) -> list[str]:
    """What breaks the contract: a group without a launchable configuration, a launchable one that spills."""
    found, groups = [], {}
    for row in rows:
        key = (row["arch"], row["dtype"], row["precision"], row["num_codes"], row["kernel"].rsplit(".", 1)[1])
        groups.setdefault(key, []).append(row)
        if "error" in row:
            found.append(f"sm_{key[0]} {'/'.join(key[1:3])} K={key[3]} {key[4]} {_config(row)}: {row['error']}")
        elif row["launchable"] and row["spill_bytes"]:
            found.append(f"sm_{key[0]} {'/'.join(key[1:3])} K={key[3]} {key[4]} {_config(row)}: "
                         f"{row['spill_bytes']} spill bytes")
    for key, group in groups.items():
        if not any(row["launchable"] for row in group):
            found.append(f"sm_{key[0]} {'/'.join(key[1:3])} K={key[3]} {key[4]}: no launchable configuration")
    return found


def _config(row: dict) -> str:
    c = row["constexprs"]
    return f"N{c['BLOCK_N']}×C{c['BLOCK_C']}×K{c['BLOCK_K']} w{row['num_warps']} s{row['num_stages']}"


def print_table(rows: list[dict]) -> None:
    print(f"Encoding kernels compiled ahead of time, Triton {triton.__version__}")
    print(f"{'arch':<7} {'dtype':<5} {'dots':<5} {'K':>4} {'kernel':<9} {'config':<24} {'regs':>5} "
          f"{'spill B':>8} {'shared KiB':>10} {'limit':>6} launchable")
    for r in rows:
        kernel = "forward" if "forward" in r["kernel"] else "backward"
        if "error" in r:
            print(f"sm_{r['arch']:<4} {r['dtype']:<5} {r['precision']:<5} {r['num_codes']:>4} {kernel:<9} "
                  f"{_config(r):<24} error: {r['error']}")
            continue
        print(f"sm_{r['arch']:<4} {r['dtype']:<5} {r['precision']:<5} {r['num_codes']:>4} {kernel:<9} "
              f"{_config(r):<24} {r['registers']:>5} {r['spill_bytes']:>8} {r['shared_bytes'] / 1024:>10.1f} "
              f"{r['shared_limit'] // 1024:>6} {'yes' if r['launchable'] else 'no'}")


def loaded(args: argparse.Namespace) -> list[dict]:
    """On a CUDA GPU: run both kernels (autotuned) at the benchmark size for each dtype and K, and report the
    configuration autotune picked with the registers and spills of the loaded kernel (``n_regs``, ``n_spills``)."""
    import torch

    from encnet.nn.precision import dot_precision

    dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    out = []
    for dtype in [d for d in args.dtypes if d in dtypes]:
        for k in args.codes:
            x = torch.randn(8, 512, 64 * 64, device="cuda", dtype=dtypes[dtype], requires_grad=True)
            d = torch.randn(k, 512, device="cuda", requires_grad=True)
            s = torch.rand(k, device="cuda", requires_grad=True)
            kernels.encoding_triton(x, d, s).float().sum().backward()
            for kernel, picked in kernels.picked_configs().items():
                out.append({"arch": args.arch_of_device, "dtype": dtype, "num_codes": k, "kernel": kernel,
                            "precision": dot_precision(x.dtype, x.device), **picked})
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--archs", type=int, nargs="+", help="compute capabilities ×10 (default: 75 80 86 89 90 "
                   "and 100 120 where Triton supports them)")
    p.add_argument("--dtypes", nargs="+", choices=sorted(triton_tiles.GPU_DTYPES),
                   default=list(triton_tiles.GPU_DTYPES))
    p.add_argument("--precision", nargs="+", choices=("ieee", "tf32", "bf16", "fp16"),
                   help="only these dot-product policies for fp32 inputs (default: every one the runtime may use)")
    p.add_argument("--codes", type=int, nargs="+", default=[1, 8, 16, 32, 64, 128], help="K values")
    p.add_argument("--kernels", nargs="+", choices=sorted(KERNELS), default=["forward", "backward"])
    p.add_argument("--configs", choices=("candidates", "before"), default="candidates",
                   help="the autotune candidates (default) or the fixed tiles before re-tiling")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="compiling processes")
    p.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "encnet" / "triton_resources")
    p.add_argument("--loaded", action="store_true", help="on a CUDA GPU, also report the loaded kernels")
    p.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    args = p.parse_args()
    if args.loaded:
        import torch

        if not torch.cuda.is_available():
            p.error("--loaded needs a CUDA GPU")
        major, minor = torch.cuda.get_device_capability()
        args.arch_of_device = 10 * major + minor
        args.archs = args.archs or [args.arch_of_device]  # with --loaded: the device's own architecture
    args.archs = args.archs or default_archs()
    if unknown := sorted(set(args.archs) - triton_tiles.SHARED_LIMIT.keys()):
        p.error(f"--archs {unknown}: no shared-memory limit known (known: {sorted(triton_tiles.SHARED_LIMIT)})")

    rows = resources(specs(args), args.cache, args.jobs)
    if args.loaded:
        rows += [{**r, "loaded": True} for r in loaded(args)]
    if args.json:
        for row in rows:
            print(json.dumps(row))
    else:
        print_table([r for r in rows if not r.get("loaded")])
        for r in (r for r in rows if r.get("loaded")):
            print(f"loaded on sm_{r['arch']}: {r['dtype']} K={r['num_codes']} {r['kernel']}: {r['config']} "
                  f"n_regs={r['n_regs']} n_spills={r['n_spills']}")
    found = problems([r for r in rows if not r.get("loaded")])
    for line in found:
        print(f"problem: {line}", file=sys.stderr)
    if found and args.configs == "candidates":
        sys.exit(1)


if __name__ == "__main__":
    main()
