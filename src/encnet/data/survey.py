"""A dataset read whole, once: what each split holds and which files are bad (``encnet-check-data``).

:func:`survey_split` reads every (image, mask) pair of a split in parallel DataLoader workers and returns
per split: the image count, the range of image sizes, per class the share of labelled pixels and the number
of images it occurs in, the classes that never occur, the images without any labelled pixel, and every bad
file (one line each, naming it). :func:`write_samples` draws training samples through the training
augmentation and writes each as a PNG: the augmented image beside its mask blended over it, with a legend.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rich.progress
import torch
from torch.utils.data import DataLoader, Dataset

from encnet.data.dataset import SegmentationDataset
from encnet.data.visualize import overlay
from encnet.infra.outputs import save_image


def first_line(error: Exception) -> str:
    """An error's first line, less the expected layout that the dataset errors append."""
    return str(error).splitlines()[0].removesuffix("; expected layout:")


class SampleReader(Dataset):
    """``dataset``'s samples as statistics: image path, (H, W), per-class pixel counts, ignored pixels, or
    the error reading it raised (one line naming the file)."""

    def __init__(self, dataset: SegmentationDataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path = str(self.dataset.samples[index][0])
        try:
            image, mask = self.dataset.load(index)
        except (ValueError, OSError) as err:
            return {"image": path, "error": first_line(err)}
        labelled = mask[mask != self.dataset.ignore_index]
        counts = np.bincount(labelled, minlength=self.dataset.num_classes)
        return {"image": path, "size": image.shape[:2], "pixels": counts.tolist(),
                "ignored": int(mask.size - labelled.size)}


def unbatched(sample: dict[str, Any]) -> dict[str, Any]:
    return sample


def survey_split(dataset: SegmentationDataset, class_names: Sequence[str], workers: int = 0,
                 progress: bool = True) -> dict[str, Any]:
    """Read every sample of ``dataset`` once (``workers`` processes) and summarise it (module docstring)."""
    loader = DataLoader(SampleReader(dataset), batch_size=None, num_workers=workers, collate_fn=unbatched)
    pixels = np.zeros(len(class_names), np.int64)
    images_with = np.zeros(len(class_names), np.int64)
    sizes, unlabelled, bad, ignored = [], [], [first_line(err) for err in dataset.unpaired], 0
    for sample in rich.progress.track(loader, total=len(dataset), description=f"reading {dataset.split}",
                                      disable=not progress):
        if "error" in sample:
            bad.append(sample["error"])
            continue
        counts = np.asarray(sample["pixels"])
        pixels += counts
        images_with += counts > 0
        ignored += sample["ignored"]
        sizes.append(tuple(sample["size"]))
        if not counts.any():
            unlabelled.append(sample["image"])
    total = int(pixels.sum())
    heights, widths = [h for h, _ in sizes], [w for _, w in sizes]
    return {
        "split": dataset.split,
        "images": len(dataset) + len(dataset.unpaired),
        "read": len(sizes),
        "height": [min(heights), max(heights)] if sizes else None,
        "width": [min(widths), max(widths)] if sizes else None,
        "classes": {name: {"pixel_share": float(pixels[k] / total) if total else 0.0, "images": int(images_with[k])}
                    for k, name in enumerate(class_names)},
        "ignored_pixel_share": float(ignored / (total + ignored)) if total + ignored else 0.0,
        "missing_classes": [name for k, name in enumerate(class_names) if images_with[k] == 0],
        "unlabelled_images": unlabelled,
        "bad_files": bad,
    }


def write_samples(dataset: SegmentationDataset, count: int, output_dir: str | Path, class_names: Sequence[str],
                  colours: np.ndarray, mean: Sequence[float], std: Sequence[float], seed: int = 0) -> list[Path]:
    """Draw ``count`` samples (cycling through ``dataset``, whose transform is the training augmentation,
    seeded with ``seed``; unreadable samples skipped) and write ``sample_<i>_<stem>.png``: the augmented image |
    its mask over it, with a legend of the classes in it."""
    output_dir = Path(output_dir).expanduser()
    output_dir.mkdir(parents=True, exist_ok=True)
    if hasattr(dataset.transform, "set_random_seed"):
        dataset.transform.set_random_seed(seed)
    names = [*class_names, *(f"class_{k}" for k in range(len(class_names), 256))]
    mean_, std_ = torch.tensor(mean)[:, None, None], torch.tensor(std)[:, None, None]
    written: list[Path] = []
    index, failures = -1, 0
    while len(written) < count and failures < len(dataset):
        index = (index + 1) % len(dataset)
        try:
            image, mask = dataset[index]
        except (ValueError, OSError):  # a bad file: the survey lists it; show the others
            failures += 1
            continue
        i = len(written)
        photo = ((image * std_ + mean_).clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()
        blended = overlay(photo, mask.numpy(), colours, names)
        canvas = np.full((blended.height, photo.shape[1] + 4 + blended.width, 3), 255, np.uint8)
        canvas[: photo.shape[0], : photo.shape[1]] = photo
        canvas[:, photo.shape[1] + 4 :] = np.asarray(blended)
        path = output_dir / f"sample_{i:03d}_{dataset.samples[index][0].stem}.png"
        save_image(canvas, path)
        written.append(path)
    return written
