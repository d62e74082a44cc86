"""What a network costs before a long run: parameters and forward GFLOPs at ``data.crop_size``.

    python benchmarks/model_cost.py                                   # the composed default (model=encnet)
    python benchmarks/model_cost.py model=fcn data=folder data.root=/data/mine   # any encnet-train overrides
    python benchmarks/model_cost.py --table --write benchmarks/model_cost.json    # README table: FCN / EncNet,
                                                                      # R-50 / R-101, 480² and 512², ADE20K

The network is the ``model`` config composed by Hydra as ``encnet-train`` composes it (without the default
CPU-sized experiment), built on the ``meta`` device: shapes only, no memory and nothing computed, so a
ResNet-101 at 512² is counted in seconds on any machine. FLOPs are those ``torch.utils.flop_counter.FlopCounterMode``
counts for one image (batch 1, 3×crop×crop) through the network in eval mode — the inference forward to
full-resolution logits, no auxiliary or SE heads (their parameters are counted: they are trained) — with a
multiply-add as 2 FLOPs; it counts matmuls and convolutions (what dominates), not element-wise ops. ``--table``
prints the table as Markdown and adds the EncNet / FCN ratio per backbone and size.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from compose import compose_arch
from hydra.errors import HydraException
from hydra.utils import instantiate
from torch.utils.flop_counter import FlopCounterMode

TABLE = {"archs": ("fcn", "encnet"), "depths": (50, 101), "sizes": (480, 512), "data": "ade20k"}


def cost(overrides: list[str], arch: str | None = None) -> dict:
    """Parameters and forward FLOPs of the composed model (``model=<arch>`` when given) at ``data.crop_size``."""
    cfg = compose_arch(arch, None, overrides) if arch else compose_arch("encnet", None, overrides)
    size = int(cfg.data.crop_size)
    with torch.device("meta"):
        task = instantiate(cfg.model)
        images = torch.empty(1, 3, size, size)
    net = task.net.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        net(images)
    backbone = cfg.model.backbone
    return {"arch": cfg.model.arch, "depth": int(backbone.depth), "output_stride": int(backbone.output_stride),
            "size": size, "num_classes": int(cfg.model.num_classes),
            "params": sum(p.numel() for p in net.parameters()), "gflops": counter.get_total_flops() / 1e9}


def table_rows(overrides: list[str]) -> list[dict]:
    rows = []
    for depth in TABLE["depths"]:
        for size in TABLE["sizes"]:
            for arch in TABLE["archs"]:
                rows.append(cost([f"data={TABLE['data']}", f"model.backbone.depth={depth}", f"data.crop_size={size}",
                                  *overrides], arch))
    return rows


def markdown(rows: list[dict]) -> str:
    """The README table: one line per network, EncNet's with its ratios to the FCN of the same backbone and size."""
    lines = ["| network | crop | params (M) | GFLOPs | EncNet / FCN params | EncNet / FCN GFLOPs |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        fcn = next(f for f in rows if f["arch"] == "fcn" and (f["depth"], f["size"]) == (r["depth"], r["size"]))
        name = f"{'EncNet' if r['arch'] == 'encnet' else 'FCN'} ResNet-{r['depth']}"
        ratios = ("", "") if r is fcn else (f"{r['params'] / fcn['params']:.3f}×",
                                            f"{r['gflops'] / fcn['gflops']:.3f}×")
        lines.append(f"| {name} | {r['size']}² | {r['params'] / 1e6:.2f} | {r['gflops']:.1f} | "
                     f"{ratios[0]} | {ratios[1]} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of encnet-train (key=value)")
    parser.add_argument("--table", action="store_true", help="FCN / EncNet, ResNet-50 / 101, 480² / 512², ADE20K")
    parser.add_argument("--write", type=Path, help="also write the rows as JSON to this file")
    args = parser.parse_args()
    try:
        rows = table_rows(args.overrides) if args.table else [cost(args.overrides)]
    except HydraException as err:
        parser.error(f"Hydra overrides {args.overrides}: {err}")
    if args.write:
        args.write.write_text(json.dumps({"torch": torch.__version__.split("+")[0], "rows": rows}, indent=2) + "\n")
    if args.table:
        print(markdown(rows))
    else:
        r = rows[0]
        print(f"{r['arch']} ResNet-{r['depth']} (output stride {r['output_stride']}), {r['num_classes']} classes, "
              f"{r['size']}×{r['size']}: {r['params'] / 1e6:.2f} M parameters, {r['gflops']:.1f} GFLOPs per image")


if __name__ == "__main__":
    main()
