"""Does context lie beyond an FCN's reach? The theoretical receptive field of a network config and, for
``context_scenes`` of several sizes, the share of ambiguous pixels whose field misses some marker.

    OMP_NUM_THREADS=1 python benchmarks/reach.py                       # the default run's FCN (model=fcn)
    OMP_NUM_THREADS=1 python benchmarks/reach.py --sizes 128 256 384 --images 100 model.backbone.depth=18

1. **Theoretical receptive field**: the network (composed as ``encnet-train model=fcn ...`` builds it) with every
   weight made positive (``|w|``), batch-norm in eval mode with unit statistics, on a ``--input`` px image of
   ones; the bounding box of the input pixels where the gradient of the centre pixel's first logit is non-zero.
   Every input pixel in it can influence that logit; none outside can.
2. **Reach on context_scenes**: for each ``--sizes`` (markers of the 128 px size, ``marker_radius_px`` 10.24–11.52,
   as ``data.marker_radius_px=[10.24,11.52]`` generates them), over the first ``--images`` val scenes: the share
   of ambiguous pixels for which at least one of the scene's markers lies wholly outside the field centred on
   the pixel (square, side = the field's), and the share for which the field misses enough markers that the
   majority can no longer be counted from what it holds (fewer than three markers of the majority class seen).
3. **Accuracy by reach** (``--checkpoints``): each trained network's pixel accuracy on those ambiguous pixels,
   split by what the field of the FCN above holds around them (every marker / misses some / too few of the
   majority), on the first ``--images`` val scenes of each ``--sizes``: does a network label the pixels beyond
   the FCN's reach worse, and does EncNet's context close that gap?

    OMP_NUM_THREADS=1 python benchmarks/reach.py --sizes 384 --images 200 \
        --checkpoints results/checkpoints/context_scenes_384px_{fcn,encnet}_s0.ckpt
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from encnet.data.context_scenes import AMBIGUOUS, CLASSES, MARKER_MAJORITY, SCENE_TYPES, draw_scene, scene_rng
from encnet.data.transforms import eval_transform
from encnet.infra.config import CONFIG_DIR

MARKERS_128 = (10.24, 11.52)  # 8–9 % of 128 px


def theoretical_field(net: torch.nn.Module, size: int) -> tuple[int, int]:
    """Height and width (px) of the gradient support of the centre logit, all weights positive (see above)."""
    with torch.no_grad():
        for module in net.modules():
            if isinstance(getattr(module, "weight", None), torch.nn.Parameter):
                module.weight.abs_()
    net.eval()  # a fresh network's batch-norm statistics: mean 0, variance 1
    x = torch.ones(1, 3, size, size, requires_grad=True)
    out = net(x)
    logits = out["out"] if isinstance(out, dict) else out
    logits[0, 0, size // 2, size // 2].backward()
    ys, xs = np.nonzero(x.grad[0].abs().sum(0).numpy())
    return int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)


def reach_masks(scene, field: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For one scene: the ambiguous pixels (H×W bool), and, over those pixels in row-major order, whether the
    square field centred on each misses some marker, and whether it sees < MARKER_MAJORITY of the majority's."""
    half = (field[0] // 2, field[1] // 2)
    where = np.isin(scene.label, [CLASSES.index(name) for name in AMBIGUOUS])
    own = SCENE_TYPES[scene.scene][2]
    seen_own = np.zeros(where.sum(), int)
    any_missed = np.zeros(where.sum(), bool)
    kernel = np.ones((2 * half[0] + 1, 2 * half[1] + 1), np.uint8)
    for name, mask in scene.markers:
        # a pixel's square field holds part of the marker iff the marker lies within half the side in y and x
        seen = cv2.dilate(mask.astype(np.uint8), kernel)[where] > 0
        any_missed |= ~seen
        seen_own += seen & (name == own)
    return where, any_missed, seen_own < MARKER_MAJORITY


def misses(size: int, images: int, field: tuple[int, int]) -> tuple[float, float]:
    """(share of ambiguous pixels whose field misses some marker, share that sees < MARKER_MAJORITY of the
    majority class's markers) over the first ``images`` val scenes of ``size`` px, 128 px markers."""
    missed = short = pixels = 0
    for index in range(images):
        where, any_missed, too_few = reach_masks(draw_scene(scene_rng(0, "val", index), size, MARKERS_128), field)
        pixels += where.sum()
        missed += any_missed.sum()
        short += too_few.sum()
    return missed / pixels, short / pixels


GROUPS = ("every marker in the field", "misses some marker", f"< {MARKER_MAJORITY} majority markers")


def accuracy_by_reach(net: torch.nn.Module, size: int, images: int, field: tuple[int, int]) -> dict[str, tuple]:
    """Per group of ambiguous pixels (``GROUPS``, by the field around them): (pixel accuracy of ``net``, pixels)
    over the first ``images`` val scenes of ``size`` px, normalised as the val split is."""
    transform = eval_transform(size)
    correct = dict.fromkeys(GROUPS, 0)
    total = dict.fromkeys(GROUPS, 0)
    net.eval()
    for index in range(images):
        scene = draw_scene(scene_rng(0, "val", index), size, MARKERS_128)
        where, any_missed, too_few = reach_masks(scene, field)
        with torch.no_grad():
            out = net(transform(image=scene.image)["image"][None])
        pred = (out["out"] if isinstance(out, dict) else out)[0].argmax(0).numpy()
        right = pred[where] == scene.label[where]
        for group, members in zip(GROUPS, (~any_missed, any_missed, too_few)):
            correct[group] += int(right[members].sum())
            total[group] += int(members.sum())
    return {g: (correct[g] / total[g] if total[g] else float("nan"), total[g]) for g in GROUPS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of encnet-train's model (default: model=fcn)")
    parser.add_argument("--input", type=int, default=1024, help="side of the probe image (px)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 384])
    parser.add_argument("--images", type=int, default=100, help="val scenes per size")
    parser.add_argument("--checkpoints", nargs="+", default=[], metavar="CKPT",
                        help="trained networks whose accuracy on the ambiguous pixels to split by reach")
    args = parser.parse_args()
    overrides = list(args.overrides)
    if not any(o.startswith("model=") for o in overrides):
        overrides.insert(0, "model=fcn")
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=overrides)
    torch.manual_seed(0)
    net = instantiate(cfg.model).net
    field = theoretical_field(net, args.input)
    print(f"{' '.join(overrides)}: theoretical receptive field {field[0]} × {field[1]} px (probe {args.input} px)")
    for size in args.sizes:
        missed, short = misses(size, args.images, field)
        print(f"{size} px scenes, 128 px markers, {args.images} val scenes: field misses some marker for "
              f"{missed:.1%} of ambiguous pixels; sees < {MARKER_MAJORITY} majority markers for {short:.1%}")
    for path in args.checkpoints:
        from encnet.tasks import load_task

        task = load_task(path, len(CLASSES))
        for size in args.sizes:
            groups = accuracy_by_reach(task.net, size, args.images, field)
            cells = "; ".join(f"{g}: {acc:.1%} of {n} px" for g, (acc, n) in groups.items())
            print(f"{path} ({task.hparams.get('arch', '?')}), {size} px, ambiguous pixel accuracy by the field "
                  f"around them: {cells}")


if __name__ == "__main__":
    main()
