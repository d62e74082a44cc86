"""Generated dataset, ADE-layout dataset checks, augmentation and datamodule (real datasets: test_datasets.py)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

from encnet.data import ADE20K, ContextScenesDataModule, SegmentationDataModule
from encnet.data.context_scenes import (
    AMBIGUOUS,
    CLASSES,
    MARKER_COUNT,
    MARKER_MAJORITY,
    SCENE_TYPES,
    VERSION,
    draw_scene,
    generate,
    make_scene,
    scene_rng,
)
from encnet.data.context_scenes import (
    ContextScenesDataModule as _DM,
)
from encnet.data.transforms import train_transform


def _digest(root):
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.png")):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def test_generation_is_deterministic_and_in_ade_layout(tmp_path):
    a = generate(tmp_path / "a", num_train=6, num_val=3, image_size=48, seed=7)
    b = generate(tmp_path / "b", num_train=6, num_val=3, image_size=48, seed=7)
    c = generate(tmp_path / "c", num_train=6, num_val=3, image_size=48, seed=8)
    assert _digest(a) == _digest(b) != _digest(c)
    assert len(list((a / "images" / "training").glob("*.png"))) == 6
    assert len(list((a / "annotations" / "validation").glob("*.png"))) == 3
    assert not list(tmp_path.glob(".*"))  # no temporary directory left behind


def test_paired_scenes_differ_only_in_their_markers_majority():
    """Both scene types of a pair come from one layout and one set of textures: redrawing an image's random
    stream as its partner type gives the same pixels except the markers (whose classes swap, so the other
    class holds the majority), and relabels every ambiguous region."""
    assert set(AMBIGUOUS) == {"sand", "earth", "wall", "building", "windowpane", "door", "floor", "road"}
    partner = {"beach": "field", "field": "beach", "room": "street", "street": "room"}
    for index in range(12):
        scene = draw_scene(scene_rng(0, "val", index), 64)
        layout, roles, own = SCENE_TYPES[scene.scene]
        other = SCENE_TYPES[partner[scene.scene]][2]
        names = [name for name, _ in scene.markers]
        assert (names.count(own), names.count(other)) == (MARKER_MAJORITY, MARKER_COUNT - MARKER_MAJORITY) == (3, 2)
        present = {CLASSES[k] for k in np.unique(scene.label) if k != 255}
        assert {own, other} <= present and present - {own, other} <= set(roles.values())
        masks = [mask for _, mask in scene.markers]
        assert (np.sum(masks, axis=0) <= 1).all()  # markers never overlap
        twin = _redraw_as(scene_rng(0, "val", index), 64, partner[scene.scene])
        same = ~np.any(masks, axis=0)
        np.testing.assert_array_equal(scene.image[same], twin.image[same])
        assert [name for name, _ in twin.markers] == [other if n == own else own for n, _ in scene.markers]
        ambiguous = np.isin(scene.label, [CLASSES.index(c) for c in AMBIGUOUS])
        assert ambiguous.any() and (scene.label[ambiguous] != twin.label[ambiguous]).all()
        assert (scene.label == 255).any()  # boundaries are unlabelled


def _redraw_as(rng, size, scene_type):
    """draw_scene with the scene-type draw forced to ``scene_type`` (the rest of the stream unchanged)."""
    class Forced:
        def __init__(self, rng):
            self.rng, self.first = rng, True

        def integers(self, *args, **kwargs):
            if self.first:
                self.first = False
                self.rng.integers(*args, **kwargs)
                return list(SCENE_TYPES).index(scene_type)
            return self.rng.integers(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(self.rng, name)

    return draw_scene(Forced(rng), size)


def test_dataset_version_names_the_cache(tmp_path):
    """A new generator version never reads an old cache: the version is part of the cache directory."""
    dm = _DM(cache_dir=str(tmp_path), num_train=2, num_val=1, image_size=32, crop_size=32, num_workers=0)
    assert f"context_scenes-v{VERSION}-" in dm.root.name and VERSION >= 2


def _write_pair(root, split, name, image, mask):
    for sub, arr in (("images", image), ("annotations", mask)):
        d = root / sub / split
        d.mkdir(parents=True, exist_ok=True)
        Image.fromarray(arr).save(d / f"{name}.png")


def test_ade_layout_reduce_zero_label(tmp_path):
    mask = np.array([[0, 1, 2], [3, 255, 1]], np.uint8)
    _write_pair(tmp_path, "training", "x", np.zeros((2, 3, 3), np.uint8), mask)
    _, out = ADE20K(tmp_path, "train")[0]
    np.testing.assert_array_equal(out, [[255, 0, 1], [2, 255, 0]])


def test_missing_root_names_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nowhere does not exist; expected layout:\n  <root>/images/training"):
        ADE20K(tmp_path / "nowhere", "train")


def test_empty_root_names_layout(tmp_path):
    (tmp_path / "images" / "training").mkdir(parents=True)
    (tmp_path / "annotations" / "training").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="split 'train' under .* has no samples; expected layout"):
        ADE20K(tmp_path, "train")


def test_image_without_mask(tmp_path):
    _write_pair(tmp_path, "training", "a", np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8))
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "images" / "training" / "b.png")
    with pytest.raises(FileNotFoundError, match=r"b\.png has no annotation .*b\.png"):
        ADE20K(tmp_path, "train")


def test_label_out_of_range_names_file(tmp_path):
    _write_pair(tmp_path, "training", "bad", np.zeros((4, 4, 3), np.uint8), np.full((4, 4), 151, np.uint8))
    with pytest.raises(ValueError, match=r"annotations/training/bad\.png has label 151"):
        ADE20K(tmp_path, "train")[0]


def test_size_mismatch_names_file(tmp_path):
    _write_pair(tmp_path, "training", "odd", np.zeros((4, 5, 3), np.uint8), np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match=r"odd\.png is \(4, 4\).*image .*odd\.png is \(5, 4\)"):
        ADE20K(tmp_path, "train")[0]


def test_train_transform_pads_with_ignore():
    """A small image scaled down and padded: padded mask pixels are 255, image pixels 0 before normalising."""
    t = train_transform(base_size=20, crop_size=64, scale_range=(0.5, 0.5), rotate_degrees=0, flip=False,
                        mean=(0, 0, 0), std=(1 / 255, 1 / 255, 1 / 255))
    out = t(image=np.full((20, 20, 3), 200, np.uint8), mask=np.ones((20, 20), np.uint8))
    image, mask = out["image"], out["mask"]
    assert image.shape == (3, 64, 64) and mask.shape == (64, 64)
    assert (mask == 255).sum() == 64 * 64 - 10 * 10 and (mask == 1).sum() == 100
    assert (image[:, mask == 255] == 0).all()


def test_rotation_fills_mask_with_ignore():
    t = train_transform(base_size=64, crop_size=64, scale_range=(1, 1), rotate_degrees=10, flip=False)
    seen = 0
    for _ in range(5):
        mask = t(image=np.zeros((64, 64, 3), np.uint8), mask=np.zeros((64, 64), np.uint8))["mask"]
        assert set(mask.unique().tolist()) <= {0, 255}
        seen += int((mask == 255).sum())
    assert seen > 0


def test_bad_scale_range():
    with pytest.raises(ValueError, match="scale_range"):
        train_transform(64, 64, scale_range=(2.0, 0.5))


def test_context_scenes_datamodule(tmp_path):
    dm = ContextScenesDataModule(cache_dir=str(tmp_path), num_train=6, num_val=2, image_size=48, crop_size=32,
                                 batch_size=2, val_batch_size=2, num_workers=0)
    dm.prepare_data()
    dm.setup("fit")
    images, masks = next(iter(dm.train_dataloader()))
    assert images.shape == (2, 3, 32, 32) and images.dtype == torch.float32
    assert masks.shape == (2, 32, 32) and masks.dtype == torch.int64
    assert set(masks.unique().tolist()) <= set(range(len(CLASSES))) | {255}
    images, masks = next(iter(dm.val_dataloader()))
    assert images.shape == (2, 3, 48, 48)
    assert dm.class_names == list(CLASSES)


def test_class_names_must_match_num_classes(tmp_path):
    with pytest.raises(ValueError, match="data.num_classes=3 but encnet.data.ADE20K has 2 class names"):
        SegmentationDataModule(str(tmp_path), num_classes=3, class_names=["a", "b"])
    with pytest.raises(ValueError, match="data.num_classes=12 but encnet.data.ADE20K has 150 class names"):
        SegmentationDataModule(str(tmp_path), num_classes=12)


def test_too_small_images_are_refused():
    with pytest.raises(ValueError, match="image_size=6 is too small for 5 separate markers"):
        make_scene(np.random.default_rng(0), 6)


def test_markers_of_a_fixed_pixel_size_in_larger_scenes(tmp_path):
    """marker_radius_px keeps the markers of a 128 px scene (radii 10.24–11.52 px) in a 256 px scene: their areas
    match the 128 px ones, not the 4× larger default ones; the dataset is cached under its own name."""
    def marker_areas(size, radius_px=None):
        scenes = [draw_scene(scene_rng(0, "val", i), size, radius_px) for i in range(8)]
        return np.mean([mask.sum() for scene in scenes for _, mask in scene.markers])

    small, large = marker_areas(128), marker_areas(256)
    fixed = marker_areas(256, (10.24, 11.52))
    assert abs(fixed / small - 1) < 0.1 and abs(large / small - 4) < 0.4
    dm = _DM(str(tmp_path), num_train=2, num_val=1, image_size=64, marker_radius_px=[4, 5])
    assert dm.root.name.endswith("64px-markers4-5px") and dm.hparams.base_size == 64
    with pytest.raises(ValueError, match=r"marker_radius_px must be \[low, high\] with 0 < low <= high, got \[5, 4\]"):
        _DM(str(tmp_path), image_size=64, marker_radius_px=[5, 4])
