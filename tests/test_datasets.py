"""Real-dataset readers on tiny trees in the real layouts (tests/fixtures/datasets.py): configs, label
mappings, SBD merge, augmentation switches, bad-input errors, one training step per dataset."""

from __future__ import annotations

import json
import warnings

import cv2
import numpy as np
import pytest
from hydra.utils import instantiate
from omegaconf.errors import MissingMandatoryValue
from PIL import Image

from encnet.cli.convert_pcontext import main as convert_pcontext
from encnet.cli.evaluate import run as evaluate
from encnet.cli.train import run as train
from encnet.data import ADE20K, VOC, Cityscapes, PascalContext, PascalContext60
from encnet.data.dataset import read_mask
from encnet.data.images import to_rgb
from encnet.data.transforms import train_transform
from encnet.data.voc import train_aug_ids

from .conftest import assert_eval_outputs, assert_metrics_recount
from .fixtures.datasets import (
    ADE20K_LABELS,
    CITYSCAPES_LABELS,
    CITYSCAPES_SIZE,
    CITYSCAPES_TRAIN_IDS,
    PCONTEXT_LABELS,
    PCONTEXT_RELEASE_LABELS,
    PCONTEXT_RELEASE_NAMES,
    SBD_LABELS,
    SBD_ONLY,
    SBD_TRAIN,
    SBD_VAL,
    SIZE,
    TRAIN_AUG,
    VOC_LABELS,
    VOC_TRAIN,
    VOC_VAL,
    bands,
    make_ade20k,
    make_cityscapes,
    make_pcontext,
    make_pcontext_release,
    make_voc,
)

# Real-dataset configs at test size: no experiment (it picks context_scenes), tiny network and crops.
SMALL = [
    "~experiment", "data.base_size=32", "data.crop_size=24", "data.batch_size=2", "data.num_workers=0",
    "model.backbone.depth=18", "model.backbone.width=0.125", "model.head_channels=16", "logger=none",
    "callbacks=none", "print_config=false", "trainer.enable_progress_bar=false", "trainer.enable_model_summary=false",
]  # fmt: skip


def _tree(name: str, tmp_path) -> list[str]:
    """Write the fixture tree of config ``name``; return the data overrides that point at it."""
    if name == "ade20k":
        return [f"data.root={make_ade20k(tmp_path / 'ADEChallengeData2016')}"]
    if name in ("pcontext", "pcontext60"):
        return [f"data.root={make_pcontext(tmp_path / 'VOC2010')}"]
    if name == "voc":
        return [f"data.root={make_voc(tmp_path / 'VOC2012', tmp_path / 'sbd')}", f"data.sbd_root={tmp_path / 'sbd'}"]
    return [f"data.root={make_cityscapes(tmp_path / 'cityscapes')}"]


CONFIGS = {  # config → (classes, background_index, train size)
    "ade20k": (150, None, 4), "pcontext": (59, None, 4), "pcontext60": (60, 0, 4), "voc": (21, None, 4),
    "cityscapes": (19, None, 4),
}  # fmt: skip


@pytest.mark.parametrize("name", CONFIGS)
def test_config_loads_tree(compose_train, tmp_path, name):
    classes, background, num_train = CONFIGS[name]
    cfg = compose_train(f"data={name}", *_tree(name, tmp_path), *SMALL, tiny=False)
    assert cfg.model.num_classes == classes
    dm = instantiate(cfg.data)
    assert len(dm.class_names) == dm.hparams.num_classes == classes and dm.background_index == background
    assert dm.hparams.ignore_index == 255
    dm.setup("fit")
    assert len(dm.train_set) == num_train
    images, masks = next(iter(dm.train_dataloader()))
    assert images.shape == (2, 3, 24, 24) and masks.shape == (2, 24, 24)
    assert set(masks.unique().tolist()) <= set(range(classes)) | {255}
    image, mask = next(iter(dm.val_dataloader()))
    assert min(image.shape[-2:]) == 32 and mask.shape[-2:] == image.shape[-2:]  # short side → base_size
    dm.setup("test")
    image, mask = next(iter(dm.test_dataloader()))
    assert image.shape[0] == 1 and image.shape[-2:] == dm.test_set.load(0)[0].shape[:2]  # original size


@pytest.mark.parametrize("name", CONFIGS)
def test_training_step_then_multiscale_sliding_window_eval(compose_train, compose_eval, tmp_path, val_confusions,
                                                            name):
    tree = _tree(name, tmp_path)
    small = [o for o in SMALL if o != "callbacks=none"]  # keep the checkpoint callback
    cfg = compose_train(f"data={name}", *tree, *small, "trainer.max_epochs=1", "trainer.limit_train_batches=1",
                        tiny=False)
    record = train(cfg)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["choices"]["data"] == name
    dm = instantiate(cfg.data)
    assert_metrics_recount(saved, val_confusions[-1], list(dm.class_names), "val", dm.background_index)

    eval_cfg = compose_eval(f"data={name}", *tree, "data.base_size=32", "data.crop_size=24", "data.num_workers=0",
                            f"ckpt_path={record['checkpoint']}", "eval.scales=[0.75,1.0,1.5]", "eval.flip=true",
                            "print_config=false", "trainer.enable_progress_bar=false", tiny=False)
    metrics = evaluate(eval_cfg)
    assert_eval_outputs(metrics, tmp_path / "run", eval_cfg.data)
    assert len([k for k in metrics if k.startswith("test/IoU/")]) == CONFIGS[name][0]
    assert ("test/mIoU_excl_background" in metrics) == (CONFIGS[name][1] is not None)


def test_root_is_mandatory(compose_train):
    cfg = compose_train("data=ade20k", *SMALL, tiny=False)
    with pytest.raises(MissingMandatoryValue, match="data.root"):
        instantiate(cfg.data)


# -- label mappings -------------------------------------------------------------------------------------


def _mapped(labels, table, index, size=SIZE):
    """The fixture mask ``bands(labels, index)`` with each stored label replaced by ``table[label]``."""
    return np.vectorize(table.get)(bands(labels, index, size))


def test_ade20k_shift_and_ignore(tmp_path):
    ds = ADE20K(make_ade20k(tmp_path), "val")
    table = dict(zip(ADE20K_LABELS, (255, 0, 74, 149)))
    for i in range(len(ds)):
        np.testing.assert_array_equal(ds.load(i)[1], _mapped(ADE20K_LABELS, table, i))


def test_pcontext_59_and_60_conventions(tmp_path):
    root = make_pcontext(tmp_path)
    mask59, mask60 = PascalContext(root, "train").load(1)[1], PascalContext60(root, "train").load(1)[1]
    np.testing.assert_array_equal(mask59, _mapped(PCONTEXT_LABELS, dict(zip(PCONTEXT_LABELS, (255, 0, 29, 58))), 1))
    np.testing.assert_array_equal(mask60, bands(PCONTEXT_LABELS, 1))
    assert PascalContext60.class_names[0] == "background"
    assert PascalContext60.class_names[1:] == PascalContext.class_names
    assert PascalContext60.background_index == 0 and PascalContext.background_index is None


def test_convert_pcontext_release(tmp_path, capsys):
    """459-class .mat label maps → 0..59 PNGs + split lists; the 59 ids land on the right class names."""
    root = make_pcontext_release(tmp_path / "VOC2010", tmp_path / "trainval")
    convert_pcontext([str(root), str(tmp_path / "trainval")])
    assert "{'train': 4, 'val': 2}" in capsys.readouterr().out  # the Main id without a .mat is left out
    ds = PascalContext60(root, "train", verify=True)
    names = dict(zip(PCONTEXT_RELEASE_LABELS, PCONTEXT_RELEASE_NAMES))
    for i in range(len(ds)):
        expected = np.vectorize(lambda k: PascalContext60.class_names.index(names[k]))(
            bands(PCONTEXT_RELEASE_LABELS, i, dtype=np.uint16))
        np.testing.assert_array_equal(ds.load(i)[1], expected)


def test_convert_pcontext_needs_label_maps(tmp_path):
    with pytest.raises(FileNotFoundError, match="no <id>.mat label maps in"):
        convert_pcontext([str(tmp_path), str(tmp_path / "trainval")])


def test_cityscapes_train_ids(tmp_path):
    ds = Cityscapes(make_cityscapes(tmp_path), "train")
    assert all(mask.name.endswith("_gtFine_labelIds.png") for _, mask in ds.samples)  # not _color, _instanceIds
    table = dict(zip(CITYSCAPES_LABELS, CITYSCAPES_TRAIN_IDS))
    np.testing.assert_array_equal(ds.load(2)[1], _mapped(CITYSCAPES_LABELS, table, 2, CITYSCAPES_SIZE))
    # every labelId outside the official 19 (incl. values that never occur) is ignored
    mapped = ds.table
    assert (mapped[[0, 1, 6, 9, 10, 14, 15, 16, 18, 29, 30, 34, 255]] == 255).all()
    assert sorted(mapped[mapped != 255].tolist()) == list(range(19))


def test_voc_palette_png_read_as_indices(tmp_path):
    root = make_voc(tmp_path / "VOC2012", tmp_path / "sbd")
    path = root / "SegmentationClass" / f"{VOC_TRAIN[0]}.png"
    assert Image.open(path).mode == "P"
    np.testing.assert_array_equal(VOC(root, "train").load(0)[1], bands(VOC_LABELS, 0))


def test_train_aug_excludes_voc_val():
    assert train_aug_ids(["a", "b"], ["c", "d"], ["b", "c", "e"], ["d", "f"]) == ["a", "b", "e", "f"]


def test_voc_train_aug_merges_sbd_without_val(tmp_path):
    root = make_voc(tmp_path / "VOC2012", tmp_path / "sbd")
    ds = VOC(root, "train_aug", sbd_root=tmp_path / "sbd", verify=True)
    ids = [image.stem for image, _ in ds.samples]
    assert ids == list(TRAIN_AUG)
    assert not set(ids) & set(VOC_VAL) and set(SBD_TRAIN + SBD_VAL) & set(VOC_VAL)  # SBD does list VOC val
    sources = {image.stem: (image.parent.name, mask.suffix) for image, mask in ds.samples}
    assert sources[VOC_TRAIN[1]] == ("JPEGImages", ".png")  # in VOC and SBD: VOC's PNG wins
    assert sources["2008_000005"] == ("JPEGImages", ".mat")  # SBD mask, VOC JPEG
    assert sources[SBD_ONLY] == ("img", ".mat")  # SBD only
    for i, sample_id in enumerate(ids):
        _, mask = ds.load(i)
        stored = read_mask(ds.samples[i][1])
        np.testing.assert_array_equal(mask, stored)
        assert set(np.unique(mask)) <= (set(SBD_LABELS) if sample_id not in VOC_TRAIN else set(VOC_LABELS))
    assert 255 in np.unique(ds.load(0)[1])  # VOC boundary kept as ignore


def test_sbd_mat_has_real_struct_layout(tmp_path):
    """Read the .mat the way SBD's own tools do (``GTcls[0]['Segmentation'][0]``)."""
    import scipy.io

    make_voc(tmp_path / "VOC2012", tmp_path / "sbd")
    mat = scipy.io.loadmat(tmp_path / "sbd" / "cls" / f"{SBD_ONLY}.mat")
    segmentation = mat["GTcls"][0]["Segmentation"][0]
    assert segmentation.dtype == np.uint8 and set(mat["GTcls"].dtype.names) >= {"Boundaries", "CategoriesPresent"}
    np.testing.assert_array_equal(segmentation, read_mask(tmp_path / "sbd" / "cls" / f"{SBD_ONLY}.mat"))


# -- augmentation switches ---------------------------------------------------------------------------


def _identity_pipeline(**switches):
    """No resize/flip/scale/rotate, crop = image size, normalisation undone: only the switches act."""
    return train_transform(32, 32, scale_range=(1, 1), rotate_degrees=0, flip=False, mean=(0, 0, 0),
                           std=(1 / 255,) * 3, **switches)


def _image_in_mode(mode: str, path) -> np.ndarray:
    """Write a SIZE image of ``mode`` to ``path`` (PNG); return the H×W×3 uint8 RGB it must read as."""
    rng = np.random.default_rng(0)
    if mode == "RGB;16":  # 16 bits per channel: PIL keeps the high byte of each
        values = rng.integers(0, 65536, (*SIZE, 3), dtype=np.uint16)
        cv2.imwrite(str(path), values[..., ::-1].copy())
        return (values >> 8).astype(np.uint8)
    if mode == "I;16":  # 16-bit grey, the full range: scaled, not clipped at 255
        values = rng.integers(0, 65536, SIZE, dtype=np.uint16)
        Image.fromarray(values).save(path)
        return np.repeat((values / 257).round().astype(np.uint8)[..., None], 3, axis=2)
    rgb = rng.integers(0, 256, (*SIZE, 3), dtype=np.uint8)
    if mode == "RGBA":  # alpha dropped
        Image.fromarray(np.dstack([rgb, rng.integers(0, 256, SIZE, dtype=np.uint8)])).save(path)
        return rgb
    if mode in ("L", "LA"):
        grey = rgb[..., 0]
        Image.fromarray(np.dstack([grey, rgb[..., 1]]) if mode == "LA" else grey).save(path)
        return np.repeat(grey[..., None], 3, axis=2)
    indices = rng.integers(0, 4, SIZE, dtype=np.uint8)  # P: palette looked up (transparency ignored)
    colours = rng.integers(0, 256, (4, 3), dtype=np.uint8)
    picture = Image.fromarray(indices, "P")
    picture.putpalette(colours.ravel().tolist())
    picture.save(path, **({"transparency": bytes([0, 128, 255, 255])} if mode == "P+alpha" else {}))
    return colours[indices]


@pytest.mark.parametrize("mode", ["RGBA", "L", "LA", "P", "P+alpha", "I;16", "RGB;16"])
def test_dataset_images_of_any_mode_read_as_8_bit_rgb(tmp_path, mode):
    root = make_ade20k(tmp_path)
    jpeg = root / "images" / "validation" / "ADE_val_00000001.jpg"
    jpeg.unlink()
    expected = _image_in_mode(mode, jpeg.with_suffix(".png"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. PIL's "Palette images with Transparency expressed in bytes ..."
        image, mask = ADE20K(root, "val").load(0)
    assert image.dtype == np.uint8 and image.shape == (*SIZE, 3) and mask.shape == SIZE
    np.testing.assert_array_equal(image, expected)


def test_32_bit_integer_images_scale_as_16_bit():
    values = np.array([[0, 257 * 100, 65535, 70000]], np.int32)  # PIL reads some 16-bit files as mode I
    np.testing.assert_array_equal(to_rgb(Image.fromarray(values, "I"))[0, :, 0], [0, 100, 255, 255])


def test_photometric_distortion_switch():
    image, mask = np.full((32, 32, 3), 100, np.uint8), bands((1, 2, 3), 0, (32, 32))
    for photometric, changes in ((False, False), (True, True)):
        t = _identity_pipeline(photometric=photometric)
        t.set_random_seed(0)
        outs = [t(image=image, mask=mask) for _ in range(8)]
        assert all((o["mask"].numpy() == mask).all() for o in outs)
        assert any((o["image"].round() != 100).any() for o in outs) == changes


def _max_class_ratio(mask) -> float:
    _, counts = np.unique(mask[mask != 255], return_counts=True)
    return counts.max() / counts.sum()


def test_cat_max_ratio_limits_dominant_class():
    """Left half class 0, right half class 1, ignore on top: a random 32×32 crop of the 64-wide mask keeps
    the max class ratio below 0.75 in ~45% of draws; re-drawing up to 10 times, in all but ~0.3%."""
    mask = np.zeros((48, 64), np.uint8)
    mask[:, 32:] = 1
    mask[:8] = 255
    image = np.zeros((48, 64, 3), np.uint8)
    below = {}
    for ratio in (None, 0.75):
        t = train_transform(48, 32, scale_range=(1, 1), rotate_degrees=0, flip=False, cat_max_ratio=ratio)
        t.set_random_seed(0)
        below[ratio] = sum(_max_class_ratio(t(image=image, mask=mask)["mask"].numpy()) < 0.75 for _ in range(60))
    assert below[None] <= 40 and below[0.75] >= 58, below


def test_cat_max_ratio_must_be_a_fraction():
    with pytest.raises(ValueError, match="cat_max_ratio"):
        train_transform(32, 32, cat_max_ratio=0)


# -- bad input -----------------------------------------------------------------------------------------


def test_missing_root_names_path_and_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"(?s)nowhere does not exist; expected layout:.*leftImg8bit/"):
        Cityscapes(tmp_path / "nowhere", "train")


def test_missing_split_list(tmp_path):
    root = make_pcontext(tmp_path)
    (root / "ImageSets" / "SegmentationContext" / "val.txt").unlink()
    with pytest.raises(FileNotFoundError, match=r"(?s)split list .*SegmentationContext/val\.txt does not exist; "
                                                r"expected layout:.*SegmentationClassContext"):
        PascalContext(root, "val")


def test_empty_split(tmp_path):
    root = make_ade20k(tmp_path)
    for image in (root / "images" / "validation").iterdir():
        image.unlink()
    with pytest.raises(FileNotFoundError, match="ADE20K split 'val' under .* has no samples"):
        ADE20K(root, "val")


def test_empty_split_list_is_named(tmp_path):
    root = make_pcontext(tmp_path / "VOC2010")
    (root / "ImageSets" / "SegmentationContext" / "val.txt").write_text("\n  \n")
    with pytest.raises(ValueError, match=r"(?s)split list .*SegmentationContext/val\.txt is empty.*expected layout"):
        PascalContext(root, "val")
    voc = make_voc(tmp_path / "VOC2012", tmp_path / "sbd")
    (tmp_path / "sbd" / "val.txt").write_text("")  # train_aug would quietly lose SBD's val images
    with pytest.raises(ValueError, match=r"split list .*sbd/val\.txt is empty"):
        VOC(voc, "train_aug", sbd_root=tmp_path / "sbd")


def test_image_without_mask(tmp_path):
    root = make_cityscapes(tmp_path)
    (root / "gtFine" / "val" / "frankfurt" / "frankfurt_000000_000019_gtFine_labelIds.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"(?s)frankfurt_000000_000019_leftImg8bit\.png has no annotation .*"
                                                r"frankfurt_000000_000019_gtFine_labelIds\.png; expected layout"):
        Cityscapes(root, "val")


def test_voc_missing_mask_and_missing_sbd_root(tmp_path):
    root = make_voc(tmp_path / "VOC2012", tmp_path / "sbd")
    with pytest.raises(ValueError, match="train_aug' needs sbd_root"):
        VOC(root, "train_aug")
    (root / "SegmentationClass" / f"{VOC_VAL[0]}.png").unlink()
    with pytest.raises(FileNotFoundError, match=rf"SegmentationClass/{VOC_VAL[0]}\.png does not exist"):
        VOC(root, "val")


def test_unreadable_file_named_lazily_or_with_verify(tmp_path):
    root = make_ade20k(tmp_path)
    broken = root / "images" / "validation" / "ADE_val_00000002.jpg"
    broken.write_bytes(b"not a jpeg")
    ds = ADE20K(root, "val")  # cheap checks: names only
    ds.load(0)
    with pytest.raises(OSError, match=r"(?s)cannot read .*ADE_val_00000002\.jpg.*expected layout"):
        ds.load(1)
    with pytest.raises(OSError, match=r"cannot read .*ADE_val_00000002\.jpg"):
        ADE20K(root, "val", verify=True)


def test_bad_label_names_file(tmp_path):
    root = make_pcontext(tmp_path)
    Image.fromarray(np.full((40, 56), 60, np.uint8)).save(root / "SegmentationClassContext" / "2010_000004.png")
    with pytest.raises(ValueError, match=r"2010_000004\.png has label 60, which is none of the 59 classes"):
        PascalContext(root, "val", verify=True)
