"""A published EncNet checkpoint → a checkpoint of this project (``encnet-convert-weights``,
:mod:`encnet.cli.convert_weights`).

SRC is a file or an http(s) URL (downloaded into torch.hub's cache). The architecture is read from the
tensors (:mod:`encnet.zoo.architecture`), the names are mapped by the source's layout
(:mod:`encnet.zoo.mmseg`, :mod:`encnet.zoo.pytorch_encoding`) and every tensor must land: missing and
unexpected keys are listed, a shape mismatch names both keys and both shapes, a checkpoint of another
network says so. DST is a Lightning checkpoint of :class:`encnet.tasks.SegmentationTask` (``encnet-eval
ckpt_path=DST``, ``SegmentationTask.load_from_checkpoint(DST)``, ``encnet-train init_weights=DST``) whose
``provenance`` entry records the source file, its SHA-256 and the architecture.

``--num-classes N`` different from the checkpoint's classes leaves the class-specific layers (classifier,
SE head, auxiliary classifier) freshly initialised for N classes: a starting point for fine-tuning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch import Tensor

from encnet.infra.weight_files import read_state_dict, sha256
from encnet.tasks import SegmentationTask
from encnet.zoo.architecture import CODEWORDS, infer_architecture, other_architecture
from encnet.zoo.layout import Layout
from encnet.zoo.mmseg import MMSEG
from encnet.zoo.pytorch_encoding import PYTORCH_ENCODING

LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (MMSEG, PYTORCH_ENCODING)}
CLASS_LAYERS = ("classifier.1.", "se_head.", "aux_head.classifier.1.")
SHOWN = 12  # keys listed per error


def _listing(keys: list[str]) -> str:
    more = f" … ({len(keys) - SHOWN} more)" if len(keys) > SHOWN else ""
    return ", ".join(keys[:SHOWN]) + more


def check_layout(src: str, layout: Layout, keys: list[str]) -> None:
    """Raise unless ``keys`` are an EncNet in ``layout``: a wrong ``--source``, or another network, is named."""
    if not layout.matches(keys):
        other = next((o for o in LAYOUTS.values() if o is not layout and o.matches(keys)), None)
        if other is not None:
            raise ValueError(f"{src} is in {other.name}'s layout, not {layout.name}'s: pass --source {other.name}")
        raise ValueError(f"{src} is not in {layout.name}'s layout: no key starts with "
                         f"{' and '.join(layout.signature)} (its keys: {_listing(keys)})")
    if layout.to_source(CODEWORDS) not in keys:
        raise ValueError(f"{src} is not an EncNet: it looks like {other_architecture(keys)} "
                         f"(no Encoding layer {layout.to_source(CODEWORDS)})")


def match(src: str, layout: Layout, state: dict[str, Tensor], origin: dict[str, str], unmatched: list[str],
          own: dict[str, Tensor], fresh: tuple[str, ...]) -> dict[str, Tensor]:
    """The full state_dict for a network whose own state_dict is ``own``, or one error listing every problem.

    BatchNorm's ``num_batches_tracked`` (absent from older files) and the ``fresh`` (re-initialised) layers
    are taken from ``own``.
    """
    optional = {k for k in own if k.endswith("num_batches_tracked") or k.startswith(fresh)}
    missing = [k for k in own if k not in state and k not in optional]
    unexpected = sorted(unmatched + [origin[k] for k in state if k not in own])
    if missing or unexpected:
        lines = [f"{src} does not fit the EncNet it implies ({layout.name} layout):"]
        if missing:
            lines.append(f"  missing {len(missing)}: " + _listing([layout.to_source(k) for k in missing]))
        if unexpected:
            lines.append(f"  unexpected {len(unexpected)}: " + _listing(unexpected))
        raise ValueError("\n".join(lines))
    wrong = [k for k in state if state[k].shape != own[k].shape]
    if wrong:
        k = wrong[0]
        raise ValueError(f"{src}: {origin[k]} has shape {tuple(state[k].shape)} but {k} of the implied EncNet "
                         f"needs {tuple(own[k].shape)} ({len(wrong)} such tensors)")
    return {k: state[k].to(own[k].dtype) if k in state else own[k] for k in own}


def summary(hparams: dict[str, Any]) -> dict[str, Any]:
    """The architecture in a few words (recorded in the checkpoint and printed)."""
    backbone, width = hparams["backbone"], hparams["backbone"]["stem_width"]
    stem = f"deep stem {width}-{width}-{2 * width}" if backbone["deep_stem"] else "7×7 stem"
    return {
        "backbone": f"ResNet-{backbone['depth']}, {stem}, output stride {backbone['output_stride']}",
        "num_classes": hparams["num_classes"],
        "head_channels": hparams["head_channels"],
        "num_codes": hparams["num_codes"],
        "cem": hparams["cem"],
        "se_head": hparams["se_loss_weight"] > 0,
        "stage3_se": hparams["stage3_se"],
        "lateral": hparams["lateral"],
        "aux_channels": hparams["aux_channels"],
        "align_corners": hparams["align_corners"],
    }


def convert(src: str, dst: str | Path, source: str, num_classes: int | None = None,
            align_corners: bool | None = None, allow_pickle: bool = False) -> dict[str, Any]:
    """Convert ``src`` (a ``source`` checkpoint: path or URL) into the Lightning checkpoint ``dst``.

    Returns the ``provenance`` written into it.
    """
    if source not in LAYOUTS:
        raise ValueError(f"--source must be one of {sorted(LAYOUTS)}, got {source!r}")
    if num_classes is not None and num_classes < 1:
        raise ValueError(f"--num-classes must be ≥ 1, got {num_classes}")
    layout = LAYOUTS[source]
    raw, path = read_state_dict(src, allow_pickle)
    check_layout(src, layout, list(raw))
    state, origin, unmatched = layout.rename(raw)
    try:
        hparams = infer_architecture(state, layout.defaults)
    except KeyError as err:
        raise ValueError(f"{src} does not fit an EncNet: missing {layout.to_source(err.args[0])}") from None
    except ValueError as err:
        raise ValueError(f"{src}: {err}") from None
    fresh: tuple[str, ...] = ()
    published_classes = hparams["num_classes"]
    if num_classes is not None and num_classes != published_classes:
        fresh, hparams["num_classes"] = CLASS_LAYERS, num_classes
        state = {k: v for k, v in state.items() if not k.startswith(fresh)}
    if align_corners is not None:
        hparams["align_corners"] = align_corners
    task = SegmentationTask(**hparams)
    task.net.load_state_dict(match(src, layout, state, origin, unmatched, task.net.state_dict(), fresh))
    provenance = {
        "source": layout.name,
        "source_file": src,
        "sha256": sha256(path),
        "layout": layout.reference,
        "architecture": summary(hparams),
        "published_num_classes": published_classes,
        "reinitialised": [p.rstrip(".") for p in fresh],
    }
    checkpoint = {
        "state_dict": task.state_dict(),
        "hyper_parameters": dict(task.hparams),
        "pytorch-lightning_version": pl.__version__,
        "epoch": 0,
        "global_step": 0,
        "provenance": provenance,
    }
    Path(dst).expanduser().parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, Path(dst).expanduser())
    return provenance
