"""``encnet-convert-pcontext``: one-time conversion of the original PASCAL-Context release to the PNG layout
that :class:`encnet.data.PascalContext` reads (the same files as mmsegmentation's converter writes).

Input: ``VOCdevkit/VOC2010`` (the VOC 2010 trainval release: ``JPEGImages/``, ``ImageSets/Main/{train,val}.txt``)
and the PASCAL-Context ``trainval/`` directory (``trainval.tar.gz``: one ``<id>.mat`` per image, whose
``LabelMap`` holds the 459-class ids of ``labels.txt``). Output, inside ``VOCdevkit/VOC2010``:
``SegmentationClassContext/<id>.png`` (0 = background, 1..59 = the 59 classes) and
``ImageSets/SegmentationContext/{train,val}.txt`` (VOC 2010's Main train/val ids that have a label map:
4,998 / 5,105 images).

The 59 classes are those of the released EncNet code's ``_mapping`` table (459-class ids below); every other
id, and 0 (unlabelled), becomes background. Usage::

    encnet-convert-pcontext /data/VOCdevkit/VOC2010 /data/pascal-context/trainval
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

# 459-class ids of background (0) and the 59 classes, sorted: position = class id in the PNGs.
CONTEXT_IDS = (
    0, 2, 9, 18, 19, 22, 23, 25, 31, 33, 34, 44, 45, 46, 59, 65, 68, 72, 80, 85, 98, 104, 105, 113, 115, 144,
    158, 159, 162, 187, 189, 207, 220, 232, 258, 259, 260, 284, 295, 296, 308, 324, 326, 347, 349, 354, 355,
    360, 366, 368, 397, 415, 416, 420, 424, 427, 440, 445, 454, 458,
)  # fmt: skip


# Stored 459-class id → 0 (background) or the position of that id in CONTEXT_IDS.
_TABLE = np.zeros(CONTEXT_IDS[-1] + 1, np.uint8)
_TABLE[list(CONTEXT_IDS)] = np.arange(len(CONTEXT_IDS))


def context_labels(label_map: np.ndarray) -> np.ndarray:
    """459-class ``LabelMap`` (H×W) → H×W uint8: 0 = background, k = k-th of the 59 classes."""
    table = _TABLE
    if label_map.max() >= len(table):  # ids beyond the 59 classes' range are background too
        table = np.concatenate([table, np.zeros(int(label_map.max()) + 1 - len(table), np.uint8)])
    return table[label_map]


def convert(voc2010: Path, trainval: Path) -> dict[str, int]:
    """Write the PNGs and split lists into ``voc2010``; return the number of ids per split."""
    mats = sorted(trainval.glob("*.mat"))
    if not mats:
        raise FileNotFoundError(f"no <id>.mat label maps in {trainval} (the PASCAL-Context trainval/ directory)")
    main_lists = {split: voc2010 / "ImageSets" / "Main" / f"{split}.txt" for split in ("train", "val")}
    for main in main_lists.values():  # before the slow part
        if not main.is_file():
            raise FileNotFoundError(f"VOC 2010 split list {main} does not exist (is {voc2010} VOCdevkit/VOC2010?)")
    out = voc2010 / "SegmentationClassContext"
    out.mkdir(parents=True, exist_ok=True)
    for mat in mats:
        try:
            label_map = scipy.io.loadmat(mat)["LabelMap"]
        except Exception as err:  # noqa: BLE001 - scipy raises many types for a bad file
            raise OSError(f"cannot read LabelMap from {mat}: {err}") from None
        Image.fromarray(context_labels(label_map)).save(out / f"{mat.stem}.png")
    converted, counts = {m.stem for m in mats}, {}
    lists = voc2010 / "ImageSets" / "SegmentationContext"
    lists.mkdir(parents=True, exist_ok=True)
    for split, main in main_lists.items():
        ids = [i for i in (line.strip() for line in main.read_text().splitlines()) if i in converted]
        (lists / f"{split}.txt").write_text("".join(f"{i}\n" for i in ids))
        counts[split] = len(ids)
    return counts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="encnet-convert-pcontext")
    parser.add_argument("voc2010", type=Path, help="VOCdevkit/VOC2010 (written into)")
    parser.add_argument("trainval", type=Path, help="PASCAL-Context trainval/ directory of <id>.mat files")
    args = parser.parse_args(argv)
    counts = convert(args.voc2010.expanduser(), args.trainval.expanduser())
    print(f"wrote {args.voc2010}/SegmentationClassContext and ImageSets/SegmentationContext: {counts}")


if __name__ == "__main__":
    main()
