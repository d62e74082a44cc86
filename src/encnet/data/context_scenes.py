"""``context_scenes``: a generated dataset in which local appearance is ambiguous and only the whole scene decides.

The paper's motivation (§1, Fig. 1): sand and earth look alike, and whether a brown textured region is sand
or earth depends on the scene (a beach or a field). Every image here is one of four scene types in two
pairs. The two scene types of a pair share one layout generator and one texture per region; they differ
only in which of the pair's two marker classes holds the majority of the image's three markers:

=======  ===============================  =======================  =================================
scene    layout (top → bottom)            ambiguous classes        markers (3, placed anywhere)
=======  ===============================  =======================  =================================
beach    sky, ground with rocks           sand                     2 boats + 1 tree
field    sky, ground with rocks           earth                    2 trees + 1 boat
room     facade with openings, ground     wall, windowpane, floor  2 lamps + 1 car
street   facade with openings, ground     building, door, road     2 cars + 1 lamp
=======  ===============================  =======================  =================================

sand/earth, wall/building, windowpane/door and floor/road are drawn from one texture generator each, in one
layout distribution. The markers (non-overlapping discs of radius 8–9 % of the image side, each marker
class locally unmistakable and labelled) are placed uniformly at random, whatever their class. So a window
of the image decides nothing from the regions; from the markers it sees it decides at best by majority,
and one marker seen is wrong a third of the time: only the count over the whole image decides. That is
what the Encoding layer pools (its residual sums grow with each marker's area; two small markers always
outweigh one large one) and what the SE-loss predicts (which ambiguous classes are present).
``benchmarks/receptive_field.py`` measures a trained FCN's effective receptive field and the exact accuracy
of the scene decision from a disc of that radius. One-pixel region boundaries are left unlabelled (ignore).
Global brightness/contrast jitter is applied to whole images, identically distributed for every scene type.

Images are generated deterministically from ``seed`` (each image from (seed, split, index)) and written
once as PNG images and PNG masks in ADE20K's layout (labels stored +1, 0 = unlabelled), then read back by
:class:`ContextScenes`, the ADE20K reader with this dataset's class names.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from encnet.data.ade20k import ADE20K, SPLIT_DIRS
from encnet.data.datamodule import SegmentationDataModule
from encnet.infra.outputs import DiskFullError, disk_full, save_image, write_text

log = logging.getLogger(__name__)

VERSION = 2
CLASSES = (
    "sky", "rock", "sand", "earth", "wall", "building", "windowpane", "door", "floor", "road",
    "boat", "tree", "lamp", "car",
)  # fmt: skip
C = {name: i for i, name in enumerate(CLASSES)}
# Regions ("roles") of each layout and the texture generator ("look") they are drawn with.
LAYOUT_LOOKS = {
    "outdoor": {"sky": "sky", "ground": "soil", "rock": "rock"},
    "urban": {"facade": "plaster", "opening": "pane", "ground": "paving"},
}
# Scene type → (layout, class of each role, its majority marker). Paired scenes differ only in the labels of
# their regions and in which of the pair's two marker classes is in the majority.
SCENE_TYPES = {
    "beach": ("outdoor", {"sky": "sky", "ground": "sand", "rock": "rock"}, "boat"),
    "field": ("outdoor", {"sky": "sky", "ground": "earth", "rock": "rock"}, "tree"),
    "room": ("urban", {"facade": "wall", "opening": "windowpane", "ground": "floor"}, "lamp"),
    "street": ("urban", {"facade": "building", "opening": "door", "ground": "road"}, "car"),
}
SCENES = tuple(SCENE_TYPES)
MARKER_COUNT, MARKER_MAJORITY = 5, 3  # markers per image; how many of them are the scene's own class


def _ambiguous() -> tuple[str, ...]:
    """Classes that label a region in one scene type and not in the other of its pair: only the scene decides."""
    names = set()
    for layout, roles, _ in SCENE_TYPES.values():
        for other_layout, other_roles, _ in SCENE_TYPES.values():
            if other_layout == layout:
                names |= set(roles.values()) - set(other_roles.values())
    return tuple(name for name in CLASSES if name in names)


AMBIGUOUS = _ambiguous()
MARKER_RADIUS = (0.08, 0.09)  # × image side: two small markers always outweigh one large one


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """size×size noise in [−1, 1], smooth at the scale of size/cells pixels."""
    coarse = rng.uniform(-1.0, 1.0, (cells, cells)).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC).clip(-1, 1)


def _texture(look: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """size×size×3 float texture in [0, 1] for one look (fresh random draw every call)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    fine = rng.normal(0.0, 1.0, (size, size)).astype(np.float32)
    blob = _smooth_noise(rng, size, 6)
    phase = rng.uniform(0, 2 * np.pi)
    if look == "sky":
        base, var = np.array([0.45, 0.65, 0.95]), 0.10 * (1 - yy) + 0.03 * blob
    elif look == "soil":
        base, var = np.array([0.62, 0.50, 0.33]), 0.10 * fine + 0.08 * blob
    elif look == "rock":
        base, var = np.array([0.50, 0.50, 0.50]), 0.15 * blob + 0.05 * fine
    elif look == "plaster":
        base, var = np.array([0.85, 0.78, 0.62]), 0.05 * np.sin(60 * xx + phase) + 0.04 * fine
    elif look == "pane":
        grid = ((np.sin(50 * xx) > 0.9) | (np.sin(50 * yy) > 0.9)).astype(np.float32)
        base, var = np.array([0.20, 0.25, 0.35]), 0.25 * grid + 0.04 * fine
    elif look == "paving":
        base, var = np.array([0.40, 0.38, 0.42]), 0.08 * np.sign(np.sin(30 * yy + phase)) + 0.04 * fine
    elif look == "boat":  # the markers: vivid, each its own colour
        base, var = np.array([0.95, 0.95, 0.95]), -0.4 * (np.sin(40 * yy + phase) > 0.5) + 0.03 * fine
    elif look == "tree":
        base, var = np.array([0.05, 0.40, 0.08]), 0.08 * fine
    elif look == "lamp":
        base, var = np.array([1.00, 0.85, 0.10]), 0.05 * fine
    elif look == "car":
        base, var = np.array([0.85, 0.08, 0.10]), 0.05 * fine
    else:
        raise KeyError(look)
    if look == "boat":  # white hull with red stripes
        return np.clip(base + var[..., None] * np.array([0.0, 1.0, 1.0]), 0.0, 1.0)
    return np.clip(base[None, None, :] + var[..., None], 0.0, 1.0)


def _wavy_rows(rng: np.random.Generator, size: int, frac: float) -> np.ndarray:
    """Per-column row index of a wavy horizontal boundary at ``frac`` of the height."""
    x = np.arange(size) / size
    amp, freq, phase = rng.uniform(0.01, 0.05), rng.uniform(1, 4), rng.uniform(0, 2 * np.pi)
    return ((frac + amp * np.sin(2 * np.pi * freq * x + phase)) * size).astype(int)


def _bands(rng: np.random.Generator, size: int, roles: list[str], fracs: list[float]) -> np.ndarray:
    """Role map (object array) of horizontal bands, top to bottom, split at cumulative ``fracs`` (wavy)."""
    out = np.full((size, size), roles[-1], object)
    rows = np.arange(size)[:, None]
    for role, edge in reversed(list(zip(roles[:-1], np.cumsum(fracs)))):
        out[rows < _wavy_rows(rng, size, edge)[None, :]] = role
    return out


def _rectangles(rng: np.random.Generator, roles: np.ndarray, inside: str, role: str, count: int) -> None:
    """Draw ``count`` rectangles of ``role`` fully inside region ``inside``."""
    size = roles.shape[0]
    ys, xs = np.nonzero(roles == inside)
    for _ in range(count):
        for _try in range(20):
            h, w = (int(size * rng.uniform(0.1, 0.25)) for _ in range(2))
            i = rng.integers(len(ys))
            y0, x0 = ys[i], xs[i]
            if y0 + h <= size and x0 + w <= size and (roles[y0 : y0 + h, x0 : x0 + w] == inside).all():
                roles[y0 : y0 + h, x0 : x0 + w] = role
                break


def _ellipse(rng: np.random.Generator, size: int, cy: float, cx: float, radius: tuple[float, float]) -> np.ndarray:
    """Boolean size×size ellipse centred at (cy, cx) with radii drawn from ``radius`` (× size)."""
    yy, xx = np.mgrid[0:size, 0:size]
    ry, rx = (size * rng.uniform(*radius) for _ in range(2))
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1


def _layout(rng: np.random.Generator, layout: str, size: int) -> np.ndarray:
    """Role map size×size of one layout; the same distribution for both scene types that share it."""
    if layout == "outdoor":
        roles = _bands(rng, size, ["sky", "ground"], [rng.uniform(0.15, 0.35)])
        ys, xs = np.nonzero(roles == "ground")
        for _ in range(int(rng.integers(0, 4))):  # rocks
            i = rng.integers(len(ys))
            roles[_ellipse(rng, size, ys[i], xs[i], (0.04, 0.10)) & (roles == "ground")] = "rock"
    else:
        roles = _bands(rng, size, ["facade", "ground"], [rng.uniform(0.6, 0.8)])
        _rectangles(rng, roles, "facade", "opening", int(rng.integers(1, 4)))
    return roles


def _partner(scene: str) -> str:
    """The other scene type of the same layout."""
    layout = SCENE_TYPES[scene][0]
    return next(other for other, (lay, _, _) in SCENE_TYPES.items() if lay == layout and other != scene)


def _place_markers(rng: np.random.Generator, size: int, classes: list[str],
                   radius: tuple[float, float] = MARKER_RADIUS) -> list[tuple[str, np.ndarray]]:
    """One non-overlapping ellipse per class in ``classes`` with radii drawn from ``radius`` (× size), centres
    uniform over the image (away from its border): [(class, size×size mask)]."""
    margin, gap = size * radius[1], 2 * size * radius[1] + 2
    centres: list[np.ndarray] = []
    tries = 0
    while len(centres) < len(classes):
        if (tries := tries + 1) > 1000:
            raise ValueError(f"context_scenes image_size={size} is too small for {len(classes)} separate markers")
        centre = rng.uniform(margin, size - margin, 2)
        if all(np.hypot(*(centre - c)) > gap for c in centres):
            centres.append(centre)
    return [(name, _ellipse(rng, size, cy, cx, radius)) for name, (cy, cx) in zip(classes, centres)]


class Scene(NamedTuple):
    """One generated scene: image size×size×3 uint8, label size×size int64 (class ids, 255 on region
    boundaries), scene type, and ``markers``: (class, size×size boolean mask) of each marker, the only
    pixels whose appearance tells the two scene types of a pair apart."""

    image: np.ndarray
    label: np.ndarray
    scene: str
    markers: list[tuple[str, np.ndarray]]


def marker_radius(size: int, marker_radius_px: tuple[float, float] | None = None) -> tuple[float, float]:
    """The markers' radius range as a fraction of the image side: :data:`MARKER_RADIUS` by default (markers
    grow with the image), or ``marker_radius_px`` pixels (markers of a fixed size, e.g. the 10.24–11.52 px of a
    128 px image in a larger scene that an FCN's receptive field no longer spans)."""
    if marker_radius_px is None:
        return MARKER_RADIUS
    low, high = marker_radius_px
    if not 0 < low <= high:
        raise ValueError("data.marker_radius_px must be [low, high] with 0 < low <= high, got "
                         f"{list(marker_radius_px)}")
    return low / size, high / size


def draw_scene(rng: np.random.Generator, size: int, marker_radius_px: tuple[float, float] | None = None) -> Scene:
    """Draw one scene (type uniform over :data:`SCENES`) from ``rng``; markers sized by :func:`marker_radius`."""
    scene = SCENES[rng.integers(len(SCENES))]
    layout, classes, marker = SCENE_TYPES[scene]
    roles = _layout(rng, layout, size)
    image = np.zeros((size, size, 3), np.float32)
    for role, look in LAYOUT_LOOKS[layout].items():
        region = roles == role
        if region.any():
            image[region] = _texture(look, rng, size)[region]
    label = np.vectorize(lambda role: C[classes[role]], otypes=[np.int64])(roles)

    minority = SCENE_TYPES[_partner(scene)][2]
    kinds = [marker] * MARKER_MAJORITY + [minority] * (MARKER_COUNT - MARKER_MAJORITY)
    markers = _place_markers(rng, size, list(rng.permutation(kinds)), marker_radius(size, marker_radius_px))
    for name, mask in markers:
        image[mask] = _texture(name, rng, size)[mask]
        label[mask] = C[name]

    gain, bias = rng.uniform(0.8, 1.2), rng.uniform(-0.08, 0.08)
    image = np.clip(image * gain + bias, 0, 1)
    # Region boundaries (4-neighbourhood) are unlabelled.
    edge = np.zeros_like(label, bool)
    edge[:-1] |= label[:-1] != label[1:]
    edge[:, :-1] |= label[:, :-1] != label[:, 1:]
    label = np.where(edge, 255, label)
    return Scene((image * 255).round().astype(np.uint8), label, scene, markers)


def make_scene(rng: np.random.Generator, size: int,
               marker_radius_px: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """One scene as (image size×size×3 uint8, label size×size int64 with 255 on boundaries, scene type)."""
    image, label, scene, _ = draw_scene(rng, size, marker_radius_px)
    return image, label, scene


def scene_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator of image ``index`` of ``split``: every image is reproducible on its own."""
    return np.random.default_rng([seed, ("train", "val").index(split), index])


def generate(root: str | Path, num_train: int, num_val: int, image_size: int, seed: int,
             marker_radius_px: tuple[float, float] | None = None) -> Path:
    """Write the dataset under ``root`` (ADE20K layout) unless it is already complete; return ``root``.

    The files appear atomically (written to a temporary sibling, then renamed), so concurrent jobs and
    interrupted runs never leave a half-written dataset behind. A full disk is one
    :class:`encnet.infra.outputs.DiskFullError` naming ``root``, with the bytes the whole dataset needs (estimated
    from the images written so far) and those free.
    """
    root = Path(root).expanduser()
    if (root / "COMPLETE").is_file():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}-", dir=root.parent))
    written, done = 0, 0
    try:
        for split, count in (("train", num_train), ("val", num_val)):
            image_dir = tmp / "images" / SPLIT_DIRS[split]
            mask_dir = tmp / "annotations" / SPLIT_DIRS[split]
            image_dir.mkdir(parents=True)
            mask_dir.mkdir(parents=True)
            for index in range(count):
                image, label, scene = make_scene(scene_rng(seed, split, index), image_size, marker_radius_px)
                stem = f"{split}_{index:05d}_{scene}"
                # ADE20K convention: 0 = unlabelled, class k stored as k + 1.
                stored = np.where(label == 255, 0, label + 1).astype(np.uint8)
                for array, folder in ((image, image_dir), (stored, mask_dir)):
                    written += save_image(array, folder / f"{stem}.png", fsync=False).stat().st_size  # renamed below
                done += 1
        markers = "" if marker_radius_px is None else f" marker_radius_px={list(marker_radius_px)}"
        write_text(tmp / "COMPLETE", f"context_scenes v{VERSION} seed={seed} size={image_size}{markers}\n")
        try:
            os.replace(tmp, root)
        except OSError:  # another job finished first, or a stale partial dir is in the way
            if not (root / "COMPLETE").is_file():
                shutil.rmtree(root, ignore_errors=True)
                os.replace(tmp, root)
    except DiskFullError:
        shutil.rmtree(tmp, ignore_errors=True)  # its space is free again before it is counted
        raise disk_full(root, written * (num_train + num_val) // max(done, 1)) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return root


class ContextScenes(ADE20K):
    """The generated dataset, read like ADE20K (0 → ignore, k → k − 1) with its own classes."""

    class_names = CLASSES


class ContextScenesDataModule(SegmentationDataModule):
    """The generated dataset as a datamodule: ``prepare_data`` writes it to ``cache_dir`` (once per
    generation setting), then it is read like ADE20K. ``marker_radius_px`` (None: 8–9 % of ``image_size``)
    fixes the markers' size in pixels, so that a larger ``image_size`` spreads the same markers over a scene
    wider than a network's reach. Augmentation arguments as in the parent class."""

    def __init__(
        self,
        cache_dir: str,
        num_train: int = 1000,
        num_val: int = 200,
        image_size: int = 128,
        seed: int = 0,
        marker_radius_px: tuple[float, float] | None = None,
        **kwargs,
    ) -> None:
        marker_radius(image_size, marker_radius_px)  # a bad value fails here, before anything is generated
        name = f"context_scenes-v{VERSION}-seed{seed}-{num_train}x{num_val}-{image_size}px"
        if marker_radius_px is not None:
            name += "-markers{:g}-{:g}px".format(*marker_radius_px)
        kwargs.setdefault("base_size", image_size)
        super().__init__(root=str(Path(cache_dir).expanduser() / name), dataset="encnet.data.ContextScenes", **kwargs)

    def prepare_data(self) -> None:
        """Generate the dataset unless it is cached. Lightning calls this in one process per node (local rank
        0, ``prepare_data_per_node``) while the others wait at a barrier; ``setup`` only reads, and
        :func:`generate` renames a complete dataset into place, so jobs sharing the cache never see half of one."""
        hp = self.hparams
        cached = (self.root / "COMPLETE").is_file()
        generate(self.root, hp.num_train, hp.num_val, hp.image_size, hp.seed, hp.marker_radius_px)
        rank = self.trainer.global_rank if self.trainer is not None else 0
        log.debug("context_scenes: %s %s (global rank %d)", "found" if cached else "generated", self.root, rank)
