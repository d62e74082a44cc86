"""``context_scenes``: a generated dataset in which local appearance is ambiguous and scene context decides.

The paper's motivation (§1, Fig. 1): sand and earth look alike, and whether a brown textured region is sand
or earth depends on the scene (a beach or a field); a windowpane and a door likewise. Every image here is
one of four scene types, and three pairs of classes are drawn from the *same* texture generator, so no
local window can tell them apart:

==========  ===========================================  ===============================
scene       regions (top → bottom)                        ambiguous class it contains
==========  ===========================================  ===============================
beach       sky, sea, sand (+ rocks)                      sand        (looks like earth)
field       sky, grass, earth (+ rocks)                   earth       (looks like sand)
room        wall with windowpanes, floor                  wall / windowpane
street      sky, building with doors, road                building / door
==========  ===========================================  ===============================

The only cues are sea vs grass (for sand/earth) and floor vs sky + road (for wall/building and
windowpane/door), and they lie in a band away from most of the ambiguous region: pixels deep inside it
are far from any cue, which is where global context (the CEM, the SE-loss) should help over an FCN.
One-pixel region boundaries are left unlabelled (ignore). Global brightness/contrast jitter is applied
to whole images, identically distributed for every scene type.

Images are generated deterministically from ``seed`` (each image from (seed, split, index)) and written
once as PNG images and PNG masks in ADE20K's layout (labels stored +1, 0 = unlabelled), then read back by
:class:`ContextScenes`, the ADE20K reader with this dataset's 12 class names.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from encnet.data.ade20k import ADE20K, SPLIT_DIRS
from encnet.data.datamodule import SegmentationDataModule

VERSION = 1
CLASSES = (
    "sky", "sea", "grass", "sand", "earth", "rock",
    "wall", "floor", "building", "road", "windowpane", "door",
)  # fmt: skip
C = {name: i for i, name in enumerate(CLASSES)}
# Texture generator of each class: sand/earth, wall/building and windowpane/door share one.
LOOK = {
    "sky": "sky", "sea": "sea", "grass": "grass", "sand": "soil", "earth": "soil", "rock": "rock",
    "wall": "plaster", "building": "plaster", "floor": "planks", "road": "asphalt",
    "windowpane": "pane", "door": "pane",
}  # fmt: skip
SCENES = ("beach", "field", "room", "street")


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """size×size noise in [−1, 1], smooth at the scale of size/cells pixels."""
    coarse = rng.uniform(-1.0, 1.0, (cells, cells)).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC).clip(-1, 1)


def _texture(look: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """size×size×3 float texture in [0, 1] for one look (fresh random draw every call)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    fine = rng.normal(0.0, 1.0, (size, size)).astype(np.float32)
    blob = _smooth_noise(rng, size, 6)
    if look == "sky":
        base, var = np.array([0.45, 0.65, 0.95]), 0.10 * (1 - yy) + 0.03 * blob
    elif look == "sea":
        phase = rng.uniform(0, 2 * np.pi)
        base, var = np.array([0.10, 0.35, 0.60]), 0.12 * np.sin(40 * yy + 6 * blob + phase) + 0.03 * fine
    elif look == "grass":
        base, var = np.array([0.25, 0.60, 0.20]), 0.12 * fine + 0.05 * blob
    elif look == "soil":
        base, var = np.array([0.62, 0.50, 0.33]), 0.10 * fine + 0.08 * blob
    elif look == "rock":
        base, var = np.array([0.50, 0.50, 0.50]), 0.15 * blob + 0.05 * fine
    elif look == "plaster":
        phase = rng.uniform(0, 2 * np.pi)
        base, var = np.array([0.85, 0.78, 0.62]), 0.05 * np.sin(60 * xx + phase) + 0.04 * fine
    elif look == "planks":
        phase = rng.uniform(0, 2 * np.pi)
        base, var = np.array([0.70, 0.40, 0.15]), 0.10 * np.sign(np.sin(30 * yy + phase)) + 0.04 * fine
    elif look == "asphalt":
        base, var = np.array([0.28, 0.28, 0.30]), 0.06 * fine + 0.03 * blob
    elif look == "pane":
        grid = ((np.sin(50 * xx) > 0.9) | (np.sin(50 * yy) > 0.9)).astype(np.float32)
        base, var = np.array([0.20, 0.25, 0.35]), 0.25 * grid + 0.04 * fine
    else:
        raise KeyError(look)
    return np.clip(base[None, None, :] + var[..., None], 0.0, 1.0)


def _wavy_rows(rng: np.random.Generator, size: int, frac: float) -> np.ndarray:
    """Per-column row index of a wavy horizontal boundary at ``frac`` of the height."""
    x = np.arange(size) / size
    amp, freq, phase = rng.uniform(0.01, 0.05), rng.uniform(1, 4), rng.uniform(0, 2 * np.pi)
    return ((frac + amp * np.sin(2 * np.pi * freq * x + phase)) * size).astype(int)


def _bands(rng: np.random.Generator, size: int, classes: list[str], fracs: list[float]) -> np.ndarray:
    """Label map of horizontal bands, top to bottom, split at cumulative ``fracs`` (wavy boundaries)."""
    label = np.full((size, size), C[classes[-1]], np.int64)
    rows = np.arange(size)[:, None]
    for name, edge in reversed(list(zip(classes[:-1], np.cumsum(fracs)))):
        label[rows < _wavy_rows(rng, size, edge)[None, :]] = C[name]
    return label


def _rectangles(rng: np.random.Generator, label: np.ndarray, inside: str, name: str, count: int):
    """Draw ``count`` rectangles of class ``name`` fully inside region ``inside`` (one size distribution for
    windowpanes and doors, so shape does not tell them apart)."""
    size = label.shape[0]
    ys, xs = np.nonzero(label == C[inside])
    for _ in range(count):
        for _try in range(20):
            h, w = (int(size * rng.uniform(0.1, 0.25)) for _ in range(2))
            i = rng.integers(len(ys))
            y0, x0 = ys[i], xs[i]
            if y0 + h <= size and x0 + w <= size and (label[y0 : y0 + h, x0 : x0 + w] == C[inside]).all():
                label[y0 : y0 + h, x0 : x0 + w] = C[name]
                break


def _blobs(rng: np.random.Generator, label: np.ndarray, inside: str, name: str, count: int):
    """Draw ``count`` elliptic blobs of class ``name`` inside region ``inside``."""
    size = label.shape[0]
    ys, xs = np.nonzero(label == C[inside])
    yy, xx = np.mgrid[0:size, 0:size]
    for _ in range(count):
        i = rng.integers(len(ys))
        ry, rx = size * rng.uniform(0.04, 0.09), size * rng.uniform(0.05, 0.12)
        ellipse = ((yy - ys[i]) / ry) ** 2 + ((xx - xs[i]) / rx) ** 2 < 1
        label[ellipse & (label == C[inside])] = C[name]


def make_scene(rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray, str]:
    """One scene: (image size×size×3 uint8, label size×size int64 in [0, 12) or 255 on boundaries, type)."""
    scene = SCENES[rng.integers(len(SCENES))]
    sky = rng.uniform(0.12, 0.25)
    if scene in ("beach", "field"):
        cue, ground = ("sea", "sand") if scene == "beach" else ("grass", "earth")
        label = _bands(rng, size, ["sky", cue, ground], [sky, rng.uniform(0.08, 0.16)])
        _blobs(rng, label, ground, "rock", int(rng.integers(0, 4)))
    elif scene == "room":
        label = _bands(rng, size, ["wall", "floor"], [rng.uniform(0.6, 0.8)])
        _rectangles(rng, label, "wall", "windowpane", int(rng.integers(1, 4)))
    else:
        label = _bands(rng, size, ["sky", "building", "road"], [sky, rng.uniform(0.5, 0.65)])
        _rectangles(rng, label, "building", "door", int(rng.integers(1, 4)))

    image = np.zeros((size, size, 3), np.float32)
    for name in np.unique(label):
        region = label == name
        image[region] = _texture(LOOK[CLASSES[name]], rng, size)[region]
    gain, bias = rng.uniform(0.8, 1.2), rng.uniform(-0.08, 0.08)
    image = np.clip(image * gain + bias, 0, 1)

    # Region boundaries (4-neighbourhood) are unlabelled.
    edge = np.zeros_like(label, bool)
    edge[:-1] |= label[:-1] != label[1:]
    edge[:, :-1] |= label[:, :-1] != label[:, 1:]
    label = np.where(edge, 255, label)
    return (image * 255).round().astype(np.uint8), label, scene


def generate(root: str | Path, num_train: int, num_val: int, image_size: int, seed: int) -> Path:
    """Write the dataset under ``root`` (ADE20K layout) unless it is already complete; return ``root``.

    The files appear atomically (written to a temporary sibling, then renamed), so concurrent jobs and
    interrupted runs never leave a half-written dataset behind.
    """
    root = Path(root).expanduser()
    if (root / "COMPLETE").is_file():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    try:
        for split_id, (split, count) in enumerate((("train", num_train), ("val", num_val))):
            image_dir = tmp / "images" / SPLIT_DIRS[split]
            mask_dir = tmp / "annotations" / SPLIT_DIRS[split]
            image_dir.mkdir(parents=True)
            mask_dir.mkdir(parents=True)
            for index in range(count):
                rng = np.random.default_rng([seed, split_id, index])
                image, label, scene = make_scene(rng, image_size)
                stem = f"{split}_{index:05d}_{scene}"
                Image.fromarray(image).save(image_dir / f"{stem}.png")
                # ADE20K convention: 0 = unlabelled, class k stored as k + 1.
                Image.fromarray(np.where(label == 255, 0, label + 1).astype(np.uint8)).save(mask_dir / f"{stem}.png")
        (tmp / "COMPLETE").write_text(f"context_scenes v{VERSION} seed={seed} size={image_size}\n")
        try:
            os.replace(tmp, root)
        except OSError:  # another job finished first, or a stale partial dir is in the way
            if not (root / "COMPLETE").is_file():
                shutil.rmtree(root, ignore_errors=True)
                os.replace(tmp, root)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


class ContextScenes(ADE20K):
    """The generated dataset, read like ADE20K (0 → ignore, k → k − 1) with its own 12 classes."""

    class_names = CLASSES


class ContextScenesDataModule(SegmentationDataModule):
    """The generated dataset as a datamodule: ``prepare_data`` writes it to ``cache_dir`` (once per
    generation setting), then it is read like ADE20K. Augmentation arguments as in the parent class."""

    def __init__(
        self,
        cache_dir: str,
        num_train: int = 1000,
        num_val: int = 200,
        image_size: int = 128,
        seed: int = 0,
        **kwargs,
    ) -> None:
        name = f"context_scenes-v{VERSION}-seed{seed}-{num_train}x{num_val}-{image_size}px"
        kwargs.setdefault("base_size", image_size)
        super().__init__(root=str(Path(cache_dir).expanduser() / name), dataset="encnet.data.ContextScenes", **kwargs)

    def prepare_data(self) -> None:
        hp = self.hparams
        generate(self.root, hp.num_train, hp.num_val, hp.image_size, hp.seed)
