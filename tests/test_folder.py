"""``data=folder`` on the fixture of tests/fixtures/folder.py: both layouts, image modes, the class file, the
class count from it alone, and one error naming the file for each bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hydra.utils import instantiate
from PIL import Image

from encnet.data import FolderDataset
from encnet.data.images import read_rgb

from .fixtures.folder import CLASSES, COLOURS, SAMPLES, make_folder, sample_mask


@pytest.mark.parametrize("lists", [False, True], ids=["split_dirs", "split_lists"])
def test_both_layouts_read_every_mode_as_rgb_with_exact_masks(tmp_path, lists):
    root = make_folder(tmp_path / "mine", lists=lists)
    index = 0
    for split, samples in SAMPLES.items():
        dataset = FolderDataset(root, split)
        assert dataset.splits == ("train", "val") and dataset.class_names == CLASSES
        assert dataset.classes.colours == COLOURS
        by_name = {image.stem: i for i, (image, _) in enumerate(dataset.samples)}
        for name, size, _, _ in samples:
            image, mask = dataset[by_name[name]]
            assert image.shape == (*size, 3) and image.dtype == np.uint8
            expected = sample_mask(index, size).astype(np.int64)
            np.testing.assert_array_equal(mask, expected)
            index += 1


def test_reduce_zero_label_shifts_the_stored_labels(tmp_path):
    root = make_folder(tmp_path / "mine")
    image, mask = FolderDataset(root, "val", reduce_zero_label=True)[0]
    stored = np.asarray(Image.open(FolderDataset(root, "val").samples[0][1])).astype(np.int64)
    np.testing.assert_array_equal(mask, np.where((stored == 0) | (stored == 255), 255, stored - 1))


def test_config_takes_the_class_count_names_and_colours_from_classes_txt(compose_train, tmp_path):
    root = make_folder(tmp_path / "mine")
    (root / "classes.txt").write_text("road\ngrass\nsky\nparked car\nbike\n")  # 5 classes, no colours
    cfg = compose_train("data=folder", f"data.root={root}", "~experiment", tiny=False)
    assert cfg.data.num_classes == 5 and cfg.model.num_classes == 5
    datamodule = instantiate(cfg.data)
    assert datamodule.dataset_info["class_names"] == [*CLASSES, "bike"]
    assert datamodule.dataset_info["class_colours"] is None
    make_folder(root)  # back to 4 classes with colours
    assert instantiate(cfg.data).dataset_info["class_colours"] == [list(c) for c in COLOURS]


def _classes(text):
    def write(root):
        (root / "classes.txt").write_text(text)
    return write


def _mask(name, array):
    def write(root):
        Image.fromarray(np.asarray(array, np.uint8)).save(root / "annotations" / "train" / f"{name}.png")
    return write


def _remove(relative):
    def write(root):
        (root / relative).unlink()
    return write


def _truncate(relative):
    def write(root):
        path = root / relative
        path.write_bytes(path.read_bytes()[:60])
    return write


BAD = {  # fault → (how to make it, file named, further words of the error)
    "no_classes_txt": (_remove("classes.txt"), "classes.txt", "does not exist"),
    "empty_class_name": (_classes("road\n\nsky\n"), "classes.txt", "line 2: empty class name"),
    "duplicate_class": (_classes("road\nsky\nroad\n"), "classes.txt", "'road' duplicates line 1"),
    "half_the_colours": (_classes("road 1 2 3\nsky\n"), "classes.txt", "on every line or on none"),
    "label_too_large": (_mask("street", np.full((40, 56), 7)), "annotations/train/street.png",
                        "label 7, which is none of the 4 classes"),
    "mask_of_another_size": (_mask("field", np.zeros((10, 12))), "annotations/train/field.png", "(12, 10) (W×H)"),
    "image_without_annotation": (_remove("annotations/train/park.png"), "annotations/train/park.png",
                                 "has no annotation"),
    "unreadable_image": (_truncate("images/train/harbour.png"), "images/train/harbour.png", "cannot read"),
}  # fmt: skip


@pytest.mark.parametrize("fault", BAD)
def test_each_bad_input_is_one_error_naming_the_file(tmp_path, fault):
    make, named, words = BAD[fault]
    root = make_folder(tmp_path / "mine")
    make(root)
    with pytest.raises((ValueError, OSError)) as info:
        FolderDataset(root, "train", verify=True)
    first = str(info.value).splitlines()[0]
    assert str(root / named) in first and words in first, first


@pytest.mark.parametrize("reduce_zero_label", [False, True])
def test_label_error_names_the_label_and_reduce_zero_label(tmp_path, reduce_zero_label):
    root = make_folder(tmp_path / "mine")
    _mask("street", np.full((40, 56), 5))(root)  # 5: no class either way (4 classes; shifted: 1..4)
    with pytest.raises(ValueError) as info:
        FolderDataset(root, "train", verify=True, reduce_zero_label=reduce_zero_label)
    message = str(info.value)
    assert "\n" not in message and str(root / "annotations/train/street.png") in message
    assert "label 5" in message and f"data.reduce_zero_label={str(reduce_zero_label).lower()}" in message


def test_unknown_split_lists_the_folders_splits(tmp_path):
    root = make_folder(tmp_path / "mine")
    with pytest.raises(ValueError, match=r"split must be one of \['train', 'val'\], got 'test'"):
        FolderDataset(root, "test")


def test_split_list_naming_a_missing_image_is_named(tmp_path):
    root = make_folder(tmp_path / "mine", lists=True)
    (root / "splits" / "val.txt").write_text("lane\nnowhere\n")
    with pytest.raises(FileNotFoundError, match=f"image {root / 'images' / 'nowhere'}"):
        FolderDataset(root, "val")


def test_two_images_of_one_name_are_named(tmp_path):
    root = make_folder(tmp_path / "mine")
    Image.fromarray(read_rgb(root / "images/train/street.jpg")).save(root / "images/train/street.png")
    with pytest.raises(ValueError, match="share the name 'street'"):
        FolderDataset(root, "train")


def test_task_keeps_the_class_colours_and_refuses_a_wrong_count():
    from encnet.tasks import SegmentationTask

    net = {"backbone": {"depth": 18, "width": 0.125}, "head_channels": 8}
    task = SegmentationTask("fcn", 2, class_names=["a", "b"], class_colours=[[1, 2, 3], [4, 5, 6]], **net)
    table = task.colour_table()
    assert table.shape == (256, 3) and table[:2].tolist() == [[1, 2, 3], [4, 5, 6]]
    with pytest.raises(ValueError, match="model.class_colours has 1 colours but num_classes=2"):
        SegmentationTask("fcn", 2, class_colours=[[1, 2, 3]], **net)


def test_config_without_classes_txt_or_root_names_what_is_missing(compose_train, tmp_path):
    from omegaconf.errors import InterpolationResolutionError

    (tmp_path / "empty").mkdir()
    for root, words in ((tmp_path / "empty", "class file"), (tmp_path / "nowhere", "dataset directory")):
        cfg = compose_train("data=folder", f"data.root={root}", "~experiment", tiny=False)
        with pytest.raises(InterpolationResolutionError, match=f"{words} {root}"):
            cfg.model.num_classes  # noqa: B018 - resolving it reads classes.txt
