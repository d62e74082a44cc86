"""EncNet vs FCN throughput and memory: training and inference images/s and peak training memory of the
dilated ResNet segmentors, with each Encoding implementation, with and without ``torch.compile``.

    python benchmarks/segmentation_throughput.py        # GPU: 512×512 bf16, train batch 8, infer batch 1 and 16
                                                         # CPU: 128×128 fp32, train batch 2, infer batch 1 and 2
    python benchmarks/segmentation_throughput.py --impls matmul triton --compile off
    python benchmarks/segmentation_throughput.py --device cpu --size 64 model.backbone.depth=18   # Hydra overrides

The networks are the ``model=fcn`` and ``model=encnet`` configs composed by Hydra as ``encnet-train`` does
(without the default CPU-sized experiment; default ``data=ade20k``: 150 classes; dilated ResNet-50, output
stride 8, 512-channel heads, K = 32, SE-loss α = 0.2 with the stage-3 encoder, auxiliary FCN head), plus any
Hydra overrides (``key=value``, anywhere on the line).
EncNet runs once per Encoding implementation (``model.encoding_impl``): ``reference`` (the broadcast
B×N×K×C form, as mmsegmentation's ``Encoding`` layer computes it), ``matmul`` and ``triton``.

* Training step: forward and the task's full loss (cross-entropy + auxiliary + SE terms) under autocast in
  ``--precision``, backward, SGD step with momentum (as ``trainer.precision=bf16-mixed`` does). Inputs are
  random images and random label masks; the data pipeline is not timed.
* Inference step: forward in eval mode under ``torch.inference_mode`` and autocast, to full-resolution logits.
* ``--compile on`` wraps the network in ``torch.compile(dynamic=False)``; the loss and optimiser stay eager.
  The Triton kernels run as a graph break (see ``encnet.nn.triton_kernels``).
* Images/s: batch / median step time (``measure.median_seconds``: CUDA events on a GPU).
* Peak memory: of one training step after the warm-up (optimiser state included): on CUDA the peak bytes
  allocated by tensors, on CPU the process's peak resident set size (see ``measure``).

Each (network, implementation, compile) runs in a fresh subprocess; one that fails (out of memory, a
compile error) is reported in its row and the others still run. The last lines give EncNet / FCN ratios
of training step time and peak memory for each implementation, against the FCN of the same compile setting.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import torch
from compose import compose_arch
from hydra.errors import HydraException
from hydra.utils import instantiate
from measure import is_cuda, median_seconds, peak_memory, reset_peak_memory
from omegaconf import OmegaConf

from encnet.nn.encoding import resolve_impl

IMPLS = ("reference", "matmul", "triton")
PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def _batch(args: argparse.Namespace, batch: int, num_classes: int):
    g = torch.Generator().manual_seed(0)
    images = torch.randn(batch, 3, args.size, args.size, generator=g).to(args.device)
    masks = torch.randint(0, num_classes, (batch, args.size, args.size), generator=g).to(args.device)
    return images, masks


def _error_row(spec: str, message: str) -> dict:
    """The result of the network ``arch:impl:compile`` that could not be measured."""
    arch, impl, compiled = spec.split(":")
    return {"arch": arch, "impl": impl, "compile": compiled, "error": message[:300]}


def child(args: argparse.Namespace) -> dict:
    """Build one network and measure it in this process."""
    arch, impl, compiled = args.child.split(":")
    impl = None if impl == "-" else impl
    torch.manual_seed(0)
    task = instantiate(compose_arch(arch, impl, args.overrides).model).to(args.device)
    net = torch.compile(task.net, dynamic=False) if compiled == "on" else task.net
    num_classes = task.hparams.num_classes
    autocast = torch.autocast(device_type=torch.device(args.device).type, dtype=PRECISIONS[args.precision],
                              enabled=args.precision != "fp32")
    optimizer = torch.optim.SGD(task.parameters(), lr=1e-4, momentum=0.9, weight_decay=1e-4)
    images, masks = _batch(args, args.train_batch, num_classes)

    def train_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with autocast:
            loss = task.compute_losses(net(images), masks)["loss"]
        loss.backward()
        optimizer.step()

    task.train()
    for _ in range(max(args.warmup, 1)):  # optimiser state and compiled graphs exist before memory is read
        train_step()
    reset_peak_memory(args.device)
    train_step()
    result = {
        "arch": arch,
        "impl": impl or "-",
        "compile": compiled,
        "resolved_impl": resolve_impl(impl, images) if impl else "-",
        "params": sum(p.numel() for p in task.parameters()),
        "train_peak_bytes": peak_memory(args.device),
        "train_step_s": median_seconds(train_step, args.device, args.repeat, 0),
    }
    task.eval()
    for batch in args.infer_batches:
        inputs, _ = _batch(args, batch, num_classes)

        def infer_step(inputs=inputs) -> None:
            with torch.inference_mode(), autocast:
                net(inputs)["out"]

        result[f"infer_b{batch}_s"] = median_seconds(infer_step, args.device, args.repeat, max(args.warmup, 1))
    return result


def _row(args: argparse.Namespace, r: dict) -> str:
    head = f"{r['arch']:<7} {r['impl']:<10} {r['compile']:<8}"
    if "error" in r:
        return f"{head} failed: {r['error']}"
    infer = " ".join(f"{b / r[f'infer_b{b}_s']:>11.2f}" for b in args.infer_batches)
    return (f"{head} {r['params'] / 1e6:>7.2f}M {1e3 * r['train_step_s']:>9.1f} "
            f"{args.train_batch / r['train_step_s']:>10.2f} {r['train_peak_bytes'] / 2**30:>9.2f} {infer}")


def report(args: argparse.Namespace, results: list[dict]) -> None:
    if is_cuda(args.device):
        device = torch.cuda.get_device_name(args.device)
    else:
        device = f"CPU, {torch.get_num_threads()} threads, 1-min load average {os.getloadavg()[0]:.1f}"
    model = compose_arch("encnet", None, args.overrides).model
    backbone = model.backbone
    print(f"Segmentation throughput, {args.size}×{args.size} {args.precision} on {device} (torch {torch.__version__}); "
          f"ResNet-{backbone.depth} output stride {backbone.output_stride}, {model.num_classes} classes, "
          f"head {model.head_channels} channels, K={model.num_codes}; train batch {args.train_batch}; "
          f"median of {args.repeat} steps after {args.warmup} warm-up")
    if args.overrides:
        print(f"overrides: {' '.join(args.overrides)}")
    memory = "peak GiB" if is_cuda(args.device) else "peak RSS GiB"
    infer = " ".join(f"{f'infer b{b} img/s':>11}" for b in args.infer_batches)
    print(f"{'arch':<7} {'encoding':<10} {'compile':<8} {'params':>8} {'train ms':>9} {'train img/s':>10} "
          f"{memory:>9} {infer}")
    for r in results:
        print(_row(args, r))
    ok = [r for r in results if "error" not in r]
    for r in ok:
        fcn = next((f for f in ok if f["arch"] == "fcn" and f["compile"] == r["compile"]), None)
        if r["arch"] == "encnet" and fcn:
            print(f"EncNet/FCN, encoding {r['impl']} (runs {r['resolved_impl']}), compile {r['compile']}: "
                  f"train step time {r['train_step_s'] / fcn['train_step_s']:.3f}x, "
                  f"peak memory {r['train_peak_bytes'] / fcn['train_peak_bytes']:.3f}x")
    default = resolve_impl("auto", torch.empty(0, device=args.device))
    print(f"The default encoding_impl=auto runs {default} here.")


def _set_defaults(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    gpu = is_cuda(args.device)
    defaults = {"size": (512, 128), "precision": ("bf16", "fp32"), "train_batch": (8, 2),
                "infer_batches": ([1, 16], [1, 2]), "impls": (list(IMPLS), ["reference", "matmul"]),
                "compile": (["off", "on"], ["off"]), "repeat": (20, 3), "warmup": (5, 1)}
    for key, (on_gpu, on_cpu) in defaults.items():  # only options not given (0 given stays 0: an error below)
        if getattr(args, key) is None:
            setattr(args, key, on_gpu if gpu else on_cpu)
    if not gpu and "triton" in args.impls and os.environ.get("TRITON_INTERPRET") != "1":
        parser.error("--impls triton on CPU needs TRITON_INTERPRET=1 in the environment (the Triton interpreter)")
    if min(args.size, args.train_batch, args.repeat, *args.infer_batches) < 1 or args.warmup < 0:
        parser.error("--size, --train-batch, --infer-batches and --repeat must be ≥ 1, --warmup ≥ 0")


def _check_overrides(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Compose both networks' configs once here, so a bad override is one error, not one per subprocess."""
    for arch in ("fcn", "encnet"):
        try:
            cfg = compose_arch(arch, None, args.overrides).model
            OmegaConf.to_container(cfg, resolve=True)
        except HydraException as err:
            parser.error(f"Hydra overrides {args.overrides}: {err}")


def _run_child(args: argparse.Namespace, spec: str) -> dict:
    cmd = [sys.executable, __file__, *sys.argv[1:], "--child", spec]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):  # killed (out of host memory, a signal) before it could report
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        return _error_row(spec, lines[-1] if lines else f"exit status {proc.returncode}")


def _is_override(arg: str) -> bool:
    """A Hydra override (``key=value``, ``+key=value``, ``~key``) rather than an option or an option's value."""
    return not arg.startswith("-") and ("=" in arg or arg.startswith("~"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("overrides", nargs="*", help="Hydra overrides (key=value, ~key) of the model configs, "
                   "anywhere on the line (default: data=ade20k)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--size", type=int, help="H = W of the images (default: 512 on a GPU, 128 on CPU)")
    p.add_argument("--precision", choices=sorted(PRECISIONS), help="autocast dtype (default: bf16 GPU, fp32 CPU)")
    p.add_argument("--train-batch", type=int, help="default: 8 on a GPU, 2 on CPU")
    p.add_argument("--infer-batches", type=int, nargs="+", help="default: 1 16 on a GPU, 1 2 on CPU")
    p.add_argument("--impls", nargs="+", choices=IMPLS, help="EncNet's encoding_impl (default: all on a GPU, "
                   "reference matmul on CPU)")
    p.add_argument("--compile", nargs="+", choices=("off", "on"), help="default: off on on a GPU, off on CPU")
    p.add_argument("--repeat", type=int, help="timed steps (default: 20 on a GPU, 3 on CPU)")
    p.add_argument("--warmup", type=int, help="untimed steps first (default: 5 on a GPU, 1 on CPU)")
    p.add_argument("--json", action="store_true", help="print results as JSON lines")
    p.add_argument("--child", help=argparse.SUPPRESS)
    argv = sys.argv[1:]
    overrides = [a for a in argv if _is_override(a)]
    args = p.parse_args([a for a in argv if not _is_override(a)])
    args.overrides = ["data=ade20k", *args.overrides, *overrides]
    _set_defaults(args, p)
    if args.child:
        try:
            print(json.dumps(child(args)))
        except Exception as err:  # noqa: BLE001 — reported in the network's row
            print(json.dumps(_error_row(args.child, " ".join(f"{type(err).__name__}: {err}".split()))))
            sys.exit(1)
        return
    _check_overrides(args, p)
    specs = [f"fcn:-:{c}" for c in args.compile] + [f"encnet:{i}:{c}" for c in args.compile for i in args.impls]
    results = [_run_child(args, spec) for spec in specs]
    if args.json:
        for r in results:
            print(json.dumps(r))
        return
    report(args, results)


if __name__ == "__main__":
    main()
