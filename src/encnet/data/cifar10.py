"""CIFAR-10 from the official python pickle batches, and its LightningDataModule (no torchvision).

Layout of ``root`` (what ``cifar-10-python.tar.gz`` extracts to)::

    root/ = .../cifar-10-batches-py/
        data_batch_1 … data_batch_5    10 000 training images each
        test_batch                     10 000 test images
        batches.meta                   class names

Each batch is a pickled dict with bytes keys: ``b"data"`` N×3072 uint8 (rows are R, G, B planes of 32×32),
``b"labels"`` N ints in [0, 10). ``batches.meta`` holds ``b"label_names"``.

``download=True`` fetches the official archive into ``root``'s parent, checks its md5 and extracts it;
``verify_md5=True`` checks every batch file against the official md5 before reading it.
"""

from __future__ import annotations

import copy
import hashlib
import pickle
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import torch
from albumentations.pytorch import ToTensorV2
from torch.utils.data import DataLoader, Dataset, Subset

from encnet.data.loaders import LoadersDataModule

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE = "cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
}
TEST_BATCHES = {"test_batch": "40351d587109b95175f43aff81a1287e"}
META = ("batches.meta", "5ff9c542aee3614f3951f8cda6e48888")
LAYOUT = f"root/ = {FOLDER}/ with data_batch_1..5, test_batch, batches.meta (from {ARCHIVE}, {URL})"
NUM_CLASSES = 10
# Per-channel statistics of the 50 000 training images (pixel values / 255).
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
PAD_MODES = {"zero": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101}


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _unpickle(path: Path, expected_md5: str | None = None) -> dict:
    """A pickled batch as a dict; any problem is one error naming ``path``."""
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR-10 file {path} is missing; expected layout: {LAYOUT}")
    if expected_md5 is not None and (actual := md5sum(path)) != expected_md5:
        raise ValueError(f"CIFAR-10 file {path} has md5 {actual}, expected {expected_md5} (corrupt or not the "
                         "official file; re-download, or set data.verify_md5=false)")
    try:
        with open(path, "rb") as f:
            content = pickle.load(f, encoding="bytes")
    except Exception as err:  # truncated (EOFError), garbage (UnpicklingError) …
        raise ValueError(f"CIFAR-10 file {path} is not a readable pickle batch ({type(err).__name__}: {err}); "
                         "re-download it") from None
    if not isinstance(content, dict):
        raise ValueError(f"CIFAR-10 file {path} holds a {type(content).__name__}, expected a dict")
    return content


def read_batch(path: Path, expected_md5: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One batch file → (images N×32×32×3 uint8, labels N int64), validated."""
    content = _unpickle(path, expected_md5)
    missing = [k for k in (b"data", b"labels") if k not in content]
    if missing:
        raise ValueError(f"CIFAR-10 file {path} lacks key(s) {missing}; has {sorted(content)}")
    data = np.asarray(content[b"data"])
    labels = np.asarray(content[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"CIFAR-10 file {path}: b'data' must be N×3072 uint8, got {data.shape} {data.dtype}")
    if labels.shape != (len(data),):
        raise ValueError(f"CIFAR-10 file {path}: {len(labels)} labels for {len(data)} images")
    if len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError(f"CIFAR-10 file {path}: labels must lie in [0, {NUM_CLASSES}), got "
                         f"[{labels.min()}, {labels.max()}]")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), labels


def read_class_names(root: Path, verify_md5: bool = False) -> list[str]:
    name, md5 = META
    content = _unpickle(root / name, md5 if verify_md5 else None)
    if b"label_names" not in content:
        raise ValueError(f"CIFAR-10 file {root / name} lacks key b'label_names'; has {sorted(content)}")
    return [n.decode() if isinstance(n, bytes) else str(n) for n in content[b"label_names"]]


def download(root: Path, url: str = URL) -> None:
    """Fetch the official archive into ``root.parent``, check its md5, extract it (``root`` must end in
    ``cifar-10-batches-py``). Offline, one error says where to put the files."""
    if root.name != FOLDER:
        raise ValueError(f"data.root must end in {FOLDER}/ to download into it, got {root}")
    archive = root.parent / ARCHIVE
    root.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_suffix(".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as f:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                f.write(chunk)
    except (urllib.error.URLError, OSError) as err:
        partial.unlink(missing_ok=True)
        raise ConnectionError(
            f"cannot download {url} ({err}). Offline? Fetch {ARCHIVE} elsewhere and extract it so that "
            f"{root} holds data_batch_1..5, test_batch and batches.meta (`tar xzf {ARCHIVE} -C {root.parent}`), "
            "then run with data.download=false"
        ) from None
    if (actual := md5sum(partial)) != ARCHIVE_MD5:
        partial.unlink()
        raise ValueError(f"downloaded {archive} from {url} has md5 {actual}, expected {ARCHIVE_MD5}")
    partial.replace(archive)
    with tarfile.open(archive, "r:gz") as tar:  # the "data" filter refuses unsafe paths (Python ≥ 3.10.12)
        tar.extractall(root.parent, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))


class CIFAR10(Dataset):
    """CIFAR-10 ``train`` (data_batch_1..5) or ``test`` (test_batch) split, held in memory.

    Items: ``(transform(image=H×W×3 uint8)["image"], label)``; without a transform, the uint8 image.
    """

    def __init__(self, root: str | Path, split: str = "train", transform: Callable[..., dict] | None = None,
                 verify_md5: bool = False) -> None:
        batches = {"train": TRAIN_BATCHES, "test": TEST_BATCHES}.get(split)
        if batches is None:
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.root, self.split = Path(root).expanduser(), split
        if not self.root.is_dir():
            raise FileNotFoundError(f"CIFAR-10 directory {self.root} does not exist; expected layout: {LAYOUT} "
                                    "(or set data.download=true)")
        parts = [read_batch(self.root / name, md5 if verify_md5 else None) for name, md5 in batches.items()]
        self.images = np.concatenate([p[0] for p in parts])
        self.labels = np.concatenate([p[1] for p in parts])
        self.classes = read_class_names(self.root, verify_md5)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def with_transform(self, transform: Callable[..., dict] | None) -> CIFAR10:
        """The same images (shared, not copied) under another transform."""
        other = copy.copy(self)
        other.transform = transform
        return other

    def __getitem__(self, index: int) -> tuple[torch.Tensor | np.ndarray, int]:
        image = self.images[index]
        if self.transform is not None:
            image = self.transform(image=image)["image"]
        return image, int(self.labels[index])


def train_transform(pad: int = 4, pad_mode: str = "zero", flip: bool = True, mean: Sequence[float] = CIFAR10_MEAN,
                    std: Sequence[float] = CIFAR10_STD) -> A.Compose:
    """Pad ``pad`` px (``zero`` | ``reflect``) → random 32×32 crop → horizontal flip → normalise → 3×32×32."""
    if pad_mode not in PAD_MODES:
        raise ValueError(f"pad_mode must be one of {sorted(PAD_MODES)}, got {pad_mode!r}")
    steps: list[A.BasicTransform] = [
        A.PadIfNeeded(32 + 2 * pad, 32 + 2 * pad, border_mode=PAD_MODES[pad_mode], fill=0),
        A.RandomCrop(32, 32),
    ]
    if flip:
        steps.append(A.HorizontalFlip(p=0.5))
    return A.Compose([*steps, A.Normalize(mean=tuple(mean), std=tuple(std)), ToTensorV2()])


def eval_transform(mean: Sequence[float] = CIFAR10_MEAN, std: Sequence[float] = CIFAR10_STD) -> A.Compose:
    """Normalise → 3×32×32 float tensor (no randomness)."""
    return A.Compose([A.Normalize(mean=tuple(mean), std=tuple(std)), ToTensorV2()])


class CIFAR10DataModule(LoadersDataModule):
    """CIFAR-10 loaders: batches (images B×3×32×32 float, labels B int64).

    Args:
        root: the ``cifar-10-batches-py`` directory.
        num_classes: must be 10 (present so that ``model.num_classes`` can follow ``data.num_classes``).
        download: fetch and md5-check the official archive when ``root`` lacks the batches.
        verify_md5: check each batch file against its official md5 before reading.
        val_size: images held out of the 50 000 training images for validation (a fixed random subset drawn
            with ``split_seed``; default 5 000). 0: no validation split at all (no validation loop; train on
            all 50 000 and report the test error of the final model, as CIFAR papers do).
        stream_seed: seed of the training stream (shuffle, augmentation), see :mod:`encnet.data.loaders`.
        pad, pad_mode, flip: training augmentation (see :func:`train_transform`).
    The test loader always serves the official test batch, which is read only for testing or prediction:
    nothing that selects a model ever sees it.
    """

    def __init__(
        self,
        root: str,
        num_classes: int = NUM_CLASSES,
        download: bool = False,
        verify_md5: bool = True,
        val_size: int = 5000,
        split_seed: int = 0,
        stream_seed: int = 0,
        batch_size: int = 128,
        val_batch_size: int = 256,
        num_workers: int = 4,
        pad: int = 4,
        pad_mode: str = "zero",
        flip: bool = True,
        mean: Sequence[float] = CIFAR10_MEAN,
        std: Sequence[float] = CIFAR10_STD,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        if num_classes != NUM_CLASSES:
            raise ValueError(f"data.num_classes must be {NUM_CLASSES} for CIFAR-10, got {num_classes}")
        if pad_mode not in PAD_MODES:
            raise ValueError(f"data.pad_mode must be one of {sorted(PAD_MODES)}, got {pad_mode!r}")
        self.num_classes = NUM_CLASSES
        self.class_names: list[str] | None = None

    @property
    def root(self) -> Path:
        return Path(self.hparams.root).expanduser()

    def prepare_data(self) -> None:
        expected = [*TRAIN_BATCHES, *TEST_BATCHES, META[0]]
        if self.hparams.download and not all((self.root / name).is_file() for name in expected):
            download(self.root)

    def setup(self, stage: str | None = None) -> None:
        hp = self.hparams
        if self.class_names is None:
            self.class_names = read_class_names(self.root, hp.verify_md5)
        if stage in (None, "fit", "validate") and self.train_set is None:
            train = CIFAR10(self.root, "train", train_transform(hp.pad, hp.pad_mode, hp.flip, hp.mean, hp.std),
                            hp.verify_md5)
            if not 0 <= hp.val_size < len(train):
                raise ValueError(f"data.val_size must lie in [0, {len(train)}), got {hp.val_size}")
            if hp.val_size == 0:
                self.train_set = train
            else:
                order = torch.randperm(len(train), generator=torch.Generator().manual_seed(hp.split_seed)).tolist()
                held_out = train.with_transform(eval_transform(hp.mean, hp.std))
                self.train_set = Subset(train, order[hp.val_size:])
                self.val_set = Subset(held_out, order[: hp.val_size])
        if stage in (None, "test", "predict") and self.test_set is None:
            self.test_set = CIFAR10(self.root, "test", eval_transform(hp.mean, hp.std), hp.verify_md5)

    def val_dataloader(self) -> DataLoader | list:
        """The held-out images; with ``val_size=0`` none (an empty list: Lightning then runs no validation)."""
        return [] if self.hparams.val_size == 0 else super().val_dataloader()

