"""File-based segmentation dataset in ADE20K's layout (``ADEChallengeData2016``)::

    root/images/training/*.jpg|png        root/annotations/training/*.png
    root/images/validation/*.jpg|png      root/annotations/validation/*.png

An annotation has the image's file stem and the image's size; it is a single-channel PNG of class ids.
With ``reduce_zero_label`` (ADE20K's convention) label 0 ("other") becomes the ignore index 255, 255 stays 255, and every
other label is shifted by −1. After that, labels must lie in [0, num_classes) or equal 255.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from torch.utils.data import Dataset

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
SPLIT_DIRS = {"train": "training", "val": "validation"}
LAYOUT = "root/images/{training,validation}/<name>.jpg|png and root/annotations/{training,validation}/<name>.png"


class SegmentationFolder(Dataset):
    """(image H×W×3 uint8, mask H×W int64) pairs, passed through ``transform(image=, mask=)`` if given.

    Pairing is checked at construction (cheap: file names only); label range and size are checked per
    sample as it is read, and a bad file raises an error naming it.
    """

    def __init__(
        self,
        root: str | Path,
        split: str,
        num_classes: int,
        reduce_zero_label: bool = False,
        ignore_index: int = 255,
        transform: Callable[..., dict] | None = None,
    ) -> None:
        if split not in SPLIT_DIRS:
            raise ValueError(f"split must be one of {sorted(SPLIT_DIRS)}, got {split!r}")
        self.root = Path(root).expanduser()
        self.num_classes, self.reduce_zero_label, self.ignore_index = num_classes, reduce_zero_label, ignore_index
        self.transform = transform
        image_dir = self.root / "images" / SPLIT_DIRS[split]
        mask_dir = self.root / "annotations" / SPLIT_DIRS[split]
        for d in (image_dir, mask_dir):
            if not d.is_dir():
                raise FileNotFoundError(f"dataset directory {d} does not exist; expected layout: {LAYOUT}")
        images = sorted(p for p in image_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not images:
            raise FileNotFoundError(f"no images in {image_dir}; expected layout: {LAYOUT}")
        self.samples: list[tuple[Path, Path]] = []
        for image in images:
            mask = mask_dir / f"{image.stem}.png"
            if not mask.is_file():
                raise FileNotFoundError(f"image {image} has no annotation {mask}; expected layout: {LAYOUT}")
            self.samples.append((image, mask))

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Raw (image H×W×3 uint8, mask H×W int64 with labels mapped), validated."""
        image_path, mask_path = self.samples[index]
        try:
            image = np.asarray(Image.open(image_path).convert("RGB"))
            raw = np.asarray(Image.open(mask_path))
        except OSError as err:
            raise OSError(f"cannot read {image_path} or {mask_path}: {err}") from None
        if raw.ndim != 2:
            raise ValueError(f"annotation {mask_path} must be a single-channel label PNG, got shape {raw.shape}")
        if raw.shape != image.shape[:2]:
            raise ValueError(f"annotation {mask_path} is {raw.shape[::-1]} (W×H) but image {image_path} is "
                             f"{image.shape[1::-1]}")
        mask = raw.astype(np.int64)
        if self.reduce_zero_label:
            mask = np.where((mask == 0) | (mask == self.ignore_index), self.ignore_index + 1, mask) - 1
        bad = (mask >= self.num_classes) & (mask != self.ignore_index)
        if bad.any():
            raise ValueError(f"annotation {mask_path} has label {int(raw[bad][0])} outside the "
                             f"{self.num_classes} classes (ignore label {self.ignore_index})")
        return image, mask

    def __getitem__(self, index: int):
        image, mask = self.load(index)
        if self.transform is None:
            return image, mask
        out = self.transform(image=image, mask=mask)
        return out["image"], out["mask"].long()
