"""The EncNet that a state_dict implies, read from its tensors' names and shapes (this project's names).

``infer_architecture`` returns the :class:`encnet.tasks.SegmentationTask` keyword arguments that build a
network with exactly these tensors: backbone depth (blocks per stage), deep stem and its width, width
multiplier, head width, K codewords, classes, SE head, auxiliary head and its width, lateral fusion.
``other_architecture`` names what a checkpoint without an Encoding layer looks like instead.
"""

from __future__ import annotations

import re
from typing import Any

from torch import Tensor

from encnet.models.resnet import ARCHS, Bottleneck

CODEWORDS = "cem.encoder.encoding.codewords"

# Substrings of source keys that give away another segmentation network.
OTHER_HEADS = {
    "psp_modules": "PSPNet (mmsegmentation PSPHead)",
    "conv5.0.conv1.": "PSPNet (PyTorch-Encoding PyramidPooling head)",
    "aspp": "DeepLab (ASPP head)",
    "c1_bottleneck": "DeepLabV3+",
    "ocr": "OCRNet",
}


def other_architecture(keys: list[str]) -> str:
    """A guess at the network behind a checkpoint that has no Encoding layer."""
    for marker, name in OTHER_HEADS.items():
        if any(marker in k for k in keys):
            return name
    return "a network without an Encoding layer"


def _shape(state: dict[str, Tensor], key: str) -> tuple[int, ...]:
    if key not in state:
        raise KeyError(key)
    return tuple(state[key].shape)


def _backbone(state: dict[str, Tensor], output_stride: int) -> dict[str, Any]:
    blocks = []
    for stage in range(1, 5):
        indices = {int(m.group(1)) for k in state if (m := re.match(rf"backbone\.layer{stage}\.(\d+)\.", k))}
        blocks.append(len(indices))
    bottleneck = "backbone.layer1.0.conv3.weight" in state
    depth = next((d for d, (block, layers) in ARCHS.items()
                  if layers == tuple(blocks) and (block is Bottleneck) == bottleneck), None)
    if depth is None:
        raise ValueError(f"backbone stages hold {blocks} {'bottleneck' if bottleneck else 'basic'} blocks: "
                         f"no ResNet depth of {sorted(ARCHS)} has that many")
    width = _shape(state, "backbone.layer1.0.conv1.weight")[0] / 64
    deep_stem = "backbone.conv1.0.weight" in state
    stem_width = _shape(state, "backbone.conv1.0.weight")[0] if deep_stem else None
    return {"depth": depth, "output_stride": output_stride, "deep_stem": deep_stem, "stem_width": stem_width,
            "width": width, "pretrained": None}


def infer_architecture(state: dict[str, Tensor], defaults: dict[str, Any]) -> dict[str, Any]:
    """SegmentationTask keyword arguments of the EncNet whose state_dict (this project's names) is ``state``.

    ``defaults`` holds what the weights do not show: ``output_stride``, ``align_corners``, ``se_loss_weight``,
    ``aux_weight``. Raises ValueError when there is no Encoding layer, KeyError naming a missing tensor.
    """
    if CODEWORDS not in state:
        raise ValueError(f"no Encoding layer ({CODEWORDS})")
    aux = "aux_head.conv.0.weight" in state
    return {
        "arch": "encnet",
        "num_classes": _shape(state, "classifier.1.weight")[0],
        "backbone": _backbone(state, defaults["output_stride"]),
        "head_channels": _shape(state, "reduce.0.weight")[0],
        "num_codes": _shape(state, CODEWORDS)[0],
        "cem": "released",
        "se_loss_weight": defaults["se_loss_weight"] if "se_head.weight" in state else 0.0,
        "stage3_se": False,
        "lateral": "lateral.0.0.weight" in state,
        "aux": aux,
        "aux_channels": _shape(state, "aux_head.conv.0.weight")[0] if aux else None,
        "aux_weight": defaults["aux_weight"] if aux else 0.0,
        "align_corners": defaults["align_corners"],
    }
