"""How far does a trained FCN see on ``context_scenes``, and can the scene be decided from that far?

    python benchmarks/receptive_field.py CKPT       # CKPT: a trained FCN (or EncNet) checkpoint on context_scenes

1. **Effective receptive field** (gradient-based, Luo et al. 2016): |∂ logit / ∂ input| of the centre pixel's
   predicted class, summed over the RGB channels and averaged over the first ``--images`` val images (eval
   mode, val resolution). Prints the radii around the centre that hold 50 % and 95 % of that mass.
2. **Where the scene can be decided**, exactly, from the generator's own distributions. The two scene types
   of a pair differ in nothing but which of the pair's two marker classes holds the majority of the image's
   markers (``Scene.markers``; marker positions do not depend on their class). An observer who sees a of
   the scene's majority-class markers and b of the other class decides by the likelihoods of that sight
   under the two scene types (hypergeometric: C(maj, a)·C(min, b) against C(min, a)·C(maj, b)): right (1),
   tied (½) or wrong (0). A marker is seen from a disc when any of its pixels lies in it. Prints that
   accuracy for a disc of the 50 % (and 95 %) radius centred on each ambiguous pixel (averaged over all
   ambiguous pixels of the val split) and for the whole image (all markers seen).

The dataset's settings (generation seed, image size, split sizes) come from the checkpoint.
"""

from __future__ import annotations

import argparse
from math import comb

import cv2
import numpy as np
import torch

from encnet.data.context_scenes import (
    AMBIGUOUS,
    CLASSES,
    MARKER_COUNT,
    MARKER_MAJORITY,
    SCENE_TYPES,
    ContextScenesDataModule,
    draw_scene,
    scene_rng,
)
from encnet.tasks import SegmentationTask


def erf_map(task: SegmentationTask, images: torch.Tensor) -> torch.Tensor:
    """H×W mean over images of |∂ (centre pixel's predicted-class logit) / ∂ input|, summed over channels."""
    task.eval()
    total = torch.zeros(images.shape[-2:])
    for image in images:
        x = image[None].clone().requires_grad_(True)
        logits = task(x)[0]  # num_classes×H×W
        cy, cx = logits.shape[1] // 2, logits.shape[2] // 2
        logits[logits[:, cy, cx].argmax(), cy, cx].backward()
        total += x.grad[0].abs().sum(0)
    return total / len(images)


def mass_radii(erf: torch.Tensor, fractions: tuple[float, ...] = (0.5, 0.95)) -> list[float]:
    """Smallest radii (px) around the centre holding each fraction of the map's total mass."""
    h, w = erf.shape
    yy, xx = torch.meshgrid(torch.arange(h) - h // 2, torch.arange(w) - w // 2, indexing="ij")
    dist = (yy.square() + xx.square()).float().sqrt().flatten()
    order = dist.argsort()
    cumulative = erf.flatten()[order].cumsum(0) / erf.sum()
    return [float(dist[order][int(torch.searchsorted(cumulative, f))]) for f in fractions]


def decision_accuracy(own: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Accuracy (1, ½ or 0) of the likelihood decision after seeing ``own`` markers of the scene's majority
    class and ``other`` of the minority class (arrays of counts)."""
    minority = MARKER_COUNT - MARKER_MAJORITY
    lik = np.vectorize(lambda a, b: comb(MARKER_MAJORITY, a) * comb(minority, b))
    truth, alternative = lik(own, other), lik(other, own)
    return np.where(truth > alternative, 1.0, np.where(truth == alternative, 0.5, 0.0))


def scene_accuracy(seed: int, size: int, count: int, radii: list[float]) -> tuple[list[float], float]:
    """Exact accuracy of deciding the scene type from a disc of each radius around each ambiguous pixel of
    the val split (mean over ambiguous pixels), and from the whole image (mean over images)."""
    ambiguous = [CLASSES.index(name) for name in AMBIGUOUS]
    correct, pixels, whole = np.zeros(len(radii)), 0, 0.0
    for index in range(count):
        scene = draw_scene(scene_rng(seed, "val", index), size)
        where = np.isin(scene.label, ambiguous)
        pixels += where.sum()
        own_class = SCENE_TYPES[scene.scene][2]
        is_own = [name == own_class for name, _ in scene.markers]
        whole += float(decision_accuracy(np.array(sum(is_own)), np.array(len(is_own) - sum(is_own))))
        for i, radius in enumerate(radii):
            r = int(round(radius))
            disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
            seen = [cv2.dilate(mask.astype(np.uint8), disc)[where] > 0 for _, mask in scene.markers]
            own = sum(s for s, mine in zip(seen, is_own) if mine)
            other = sum(s for s, mine in zip(seen, is_own) if not mine)
            correct[i] += decision_accuracy(np.asarray(own, int), np.asarray(other, int)).sum()
    return list(correct / pixels), whole / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ckpt", help="a SegmentationTask checkpoint trained on context_scenes")
    parser.add_argument("--images", type=int, default=16, help="val images the receptive field is averaged over")
    parser.add_argument("--cache-dir", default=".cache", help="where the generated dataset is (or is written)")
    args = parser.parse_args()

    checkpoint = torch.load(args.ckpt, map_location="cpu", weights_only=True)
    data = checkpoint.get("datamodule_hyper_parameters", {})
    seed, size = data.get("seed", 0), data.get("image_size", 128)
    num_train, num_val = data.get("num_train", 1000), data.get("num_val", 200)
    dm = ContextScenesDataModule(args.cache_dir, num_train, num_val, size, seed, val_batch_size=args.images,
                                 num_workers=0)
    dm.prepare_data()
    dm.setup("validate")
    images, _ = next(iter(dm.val_dataloader()))
    task = SegmentationTask.load_from_checkpoint(args.ckpt, map_location="cpu")
    r50, r95 = mass_radii(erf_map(task, images))
    (disc50, disc95), whole = scene_accuracy(seed, size, num_val, [r50, r95])

    arch = task.hparams.arch
    print(f"context_scenes seed={seed} {size}px, {arch} checkpoint {args.ckpt}")
    print(f"effective receptive field over {len(images)} val images: 50 % of the mass within {r50:.0f} px, "
          f"95 % within {r95:.0f} px")
    print(f"scene decided from a disc of the 50 % radius ({r50:.0f} px) around an ambiguous pixel: {disc50:.1%}")
    print(f"scene decided from a disc of the 95 % radius ({r95:.0f} px) around an ambiguous pixel: {disc95:.1%}")
    print(f"scene decided from the whole image: {whole:.1%}   (over {num_val} val images)")


if __name__ == "__main__":
    main()
