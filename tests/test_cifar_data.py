"""CIFAR-10 batches, augmentation, datamodule splits, download, and errors that name the bad file."""

from __future__ import annotations

import hashlib
import io
import pickle
import shutil
import tarfile
import urllib.error

import numpy as np
import pytest
import torch
from hydra.utils import instantiate

from encnet.data import cifar10
from encnet.data.cifar10 import CIFAR10, CIFAR10DataModule, md5sum, train_transform

from .fixtures.cifar10 import CLASSES, PER_BATCH, cifar_root, write_cifar10  # noqa: F401 (fixture)


def _module(root, **kwargs) -> CIFAR10DataModule:
    """A datamodule on the fixture; ``val_size=0`` unless given (the default 5 000 exceeds the fixture)."""
    options = dict(root=str(root), verify_md5=False, val_size=0, batch_size=16, val_batch_size=32, num_workers=0)
    return CIFAR10DataModule(**(options | kwargs))


def _spy_batch_files(monkeypatch) -> list[str]:
    """Names of the batch files read from now on, in order."""
    names: list[str] = []
    read = cifar10.read_batch
    monkeypatch.setattr(cifar10, "read_batch", lambda path, md5=None: names.append(path.name) or read(path, md5))
    return names


def _red_label(images: torch.Tensor) -> torch.Tensor:
    """Undo the normalisation of the red plane and decode the fixture's label (red = 20·label + U{0..39})."""
    red = images[:, 0] * cifar10.CIFAR10_STD[0] + cifar10.CIFAR10_MEAN[0]
    return ((red.mean(dim=(1, 2)) * 255 - 19.5) / 20).round().long()


def test_splits_shapes_labels_and_class_names(cifar_root):
    train, test = CIFAR10(cifar_root, "train"), CIFAR10(cifar_root, "test")
    assert len(train) == 5 * PER_BATCH and len(test) == PER_BATCH
    image, label = train[3]
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8 and 0 <= label < 10
    assert 20 * label <= image[..., 0].mean() < 20 * label + 40  # pixels and labels stay paired (HWC order)
    assert train.classes == list(CLASSES)


def test_val_size_zero_trains_on_all_without_validation_or_test_batch(cifar_root, monkeypatch):
    read = _spy_batch_files(monkeypatch)
    dm = _module(cifar_root, val_size=0)
    dm.setup("fit")
    images, labels = next(iter(dm.train_dataloader()))
    assert images.shape == (16, 3, 32, 32) and images.dtype == torch.float32 and labels.dtype == torch.int64
    assert len(dm.train_set) == 5 * PER_BATCH and dm.class_names == list(CLASSES) and dm.num_classes == 10
    assert dm.val_set is None and dm.val_dataloader() == []  # no validation loop at all
    assert dm.test_set is None and "test_batch" not in read  # fitting never reads the test batch
    dm.setup("test")
    assert read[-1] == "test_batch"
    images, labels = next(iter(dm.test_dataloader()))
    assert images.shape == (32, 3, 32, 32)
    assert torch.equal(_red_label(images), labels)  # evaluation: no crop or flip, exact decoding


def test_default_config_holds_out_5000_training_images(compose_train, tmp_path, monkeypatch):
    root = write_cifar10(tmp_path / "cifar-10-batches-py", per_batch=1001)  # 5 005 training images
    cfg = compose_train("experiment=cifar_encnet_16k64d", f"data.root={root}", "data.verify_md5=false",
                        "data.num_workers=0", tiny=False)
    assert cfg.data.val_size == 5000 and cfg.callbacks.model_checkpoint.monitor == "val/top1_err"
    read = _spy_batch_files(monkeypatch)
    dm = instantiate(cfg.data)
    dm.setup("fit")
    assert len(dm.val_set) == 5000 and len(dm.train_set) == 5 and "test_batch" not in read
    train, test = CIFAR10(root, "train"), CIFAR10(root, "test")
    held_out = {image.tobytes() for image in train.images[dm.val_set.indices]}
    assert len(held_out) == 5000 and not held_out & {image.tobytes() for image in test.images}
    assert not held_out & {image.tobytes() for image in train.images[dm.train_set.indices]}


def test_val_size_holds_out_training_images(cifar_root):
    dm = _module(cifar_root, val_size=30, split_seed=1)
    dm.setup("fit")
    assert len(dm.train_set) == 5 * PER_BATCH - 30 and len(dm.val_set) == 30
    assert not set(dm.train_set.indices) & set(dm.val_set.indices)
    images, labels = next(iter(dm.val_dataloader()))  # held-out images use the evaluation pipeline
    assert torch.equal(_red_label(images), labels)
    with pytest.raises(ValueError, match="val_size"):
        _module(cifar_root, val_size=5 * PER_BATCH).setup("fit")


def test_augmentation_pads_crops_flips():
    image = np.arange(32 * 32 * 3, dtype=np.uint8).reshape(32, 32, 3)
    for mode in ("zero", "reflect"):
        outs = [train_transform(pad_mode=mode)(image=image)["image"] for _ in range(8)]
        assert all(o.shape == (3, 32, 32) and o.dtype == torch.float32 for o in outs)
        assert len({o.numpy().tobytes() for o in outs}) > 1  # random crop / flip
    flat = np.full((32, 32, 3), 200, np.uint8)
    zero_pixel = (0 - np.array(cifar10.CIFAR10_MEAN)) / np.array(cifar10.CIFAR10_STD)
    zero = [train_transform(pad_mode="zero", flip=False)(image=flat)["image"] for _ in range(20)]
    assert any(np.allclose(z[:, 0, 0].numpy(), zero_pixel, atol=1e-4) for z in zero)  # black border in view
    reflect = [train_transform(pad_mode="reflect")(image=flat)["image"] for _ in range(20)]
    assert all(torch.allclose(r, r[:, :1, :1].expand_as(r)) for r in reflect)  # reflected border: still flat
    with pytest.raises(ValueError, match="pad_mode"):
        train_transform(pad_mode="wrap")


def _copy(cifar_root, tmp_path):
    return shutil.copytree(cifar_root, tmp_path / "cifar-10-batches-py")


def test_missing_batch_is_named(cifar_root, tmp_path):
    root = _copy(cifar_root, tmp_path)
    (root / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match=r"data_batch_3 is missing; expected layout"):
        CIFAR10(root, "train")


def test_missing_root_names_layout(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist; expected layout.*download=true"):
        CIFAR10(tmp_path / "nowhere", "test")


def test_truncated_pickle_is_named(cifar_root, tmp_path):
    root = _copy(cifar_root, tmp_path)
    data = (root / "test_batch").read_bytes()
    (root / "test_batch").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"test_batch is not a readable pickle batch"):
        CIFAR10(root, "test")


def test_bad_labels_and_keys_are_named(cifar_root, tmp_path):
    root = _copy(cifar_root, tmp_path)
    with open(root / "test_batch", "rb") as f:
        batch = pickle.load(f, encoding="bytes")
    with open(root / "test_batch", "wb") as f:
        pickle.dump(batch | {b"labels": [10] * PER_BATCH}, f)
    with pytest.raises(ValueError, match=r"test_batch: labels must lie in \[0, 10\)"):
        CIFAR10(root, "test")
    with open(root / "test_batch", "wb") as f:
        pickle.dump({b"data": batch[b"data"]}, f)
    with pytest.raises(ValueError, match=r"test_batch lacks key"):
        CIFAR10(root, "test")


def test_wrong_md5_is_named(cifar_root):
    # The fixture is not the official data, so every file fails the md5 check; the first read is named.
    with pytest.raises(ValueError, match=rf"data_batch_1 has md5 {md5sum(cifar_root / 'data_batch_1')}, "
                                         rf"expected {cifar10.TRAIN_BATCHES['data_batch_1']}"):
        CIFAR10(cifar_root, "train", verify_md5=True)


def _archive_bytes(tmp_path) -> bytes:
    write_cifar10(tmp_path / "src" / "cifar-10-batches-py")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    return buffer.getvalue()


def test_download_checks_md5_and_extracts(tmp_path, monkeypatch):
    archive = _archive_bytes(tmp_path)
    monkeypatch.setattr(cifar10.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(archive))
    root = tmp_path / "data" / "cifar-10-batches-py"
    with pytest.raises(ValueError, match=r"cifar-10-python.tar.gz from .* has md5 .*, expected c58f3010"):
        _module(root, download=True).prepare_data()
    assert not root.exists()

    monkeypatch.setattr(cifar10, "ARCHIVE_MD5", hashlib.md5(archive).hexdigest())
    dm = _module(root, download=True)
    dm.prepare_data()
    dm.setup("fit")
    assert len(dm.train_set) == 5 * PER_BATCH and (root.parent / "cifar-10-python.tar.gz").is_file()


def test_download_offline_says_where_to_put_files(tmp_path, monkeypatch):
    def offline(url, timeout):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(cifar10.urllib.request, "urlopen", offline)
    root = tmp_path / "cifar-10-batches-py"
    with pytest.raises(ConnectionError, match=rf"cannot download .*Offline\? .*so that {root} holds data_batch_1"):
        _module(root, download=True).prepare_data()
    _module(write_cifar10(root), download=True).prepare_data()  # nothing to fetch: no network needed
