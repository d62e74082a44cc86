"""ADE20K SceneParsing (``ADEChallengeData2016``, http://sceneparsing.csail.mit.edu): 150 classes,
20,210 training and 2,000 validation images.

Annotations store class k as k + 1 and 0 for "other" (unlabelled), so 0 → ignore (255) and k → k − 1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from encnet.data.dataset import SegmentationDataset, shifted_labels

SPLIT_DIRS = {"train": "training", "val": "validation"}

# objectInfo150 order (first name of each class).
CLASSES = (
    "wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed", "windowpane", "grass",
    "cabinet", "sidewalk", "person", "earth", "door", "table", "mountain", "plant", "curtain", "chair",
    "car", "water", "painting", "sofa", "shelf", "house", "sea", "mirror", "rug", "field",
    "armchair", "seat", "fence", "desk", "rock", "wardrobe", "lamp", "bathtub", "railing", "cushion",
    "base", "box", "column", "signboard", "chest of drawers", "counter", "sand", "sink", "skyscraper",
    "fireplace", "refrigerator", "grandstand", "path", "stairs", "runway", "case", "pool table", "pillow",
    "screen door", "stairway", "river", "bridge", "bookcase", "blind", "coffee table", "toilet", "flower",
    "book", "hill", "bench", "countertop", "stove", "palm", "kitchen island", "computer", "swivel chair",
    "boat", "bar", "arcade machine", "hovel", "bus", "towel", "light", "truck", "tower", "chandelier",
    "awning", "streetlight", "booth", "television receiver", "airplane", "dirt track", "apparel", "pole",
    "land", "bannister", "escalator", "ottoman", "bottle", "buffet", "poster", "stage", "van", "ship",
    "fountain", "conveyer belt", "canopy", "washer", "plaything", "swimming pool", "stool", "barrel",
    "basket", "waterfall", "tent", "bag", "minibike", "cradle", "oven", "ball", "food", "step", "tank",
    "trade name", "microwave", "pot", "animal", "bicycle", "lake", "dishwasher", "screen", "blanket",
    "sculpture", "hood", "sconce", "vase", "traffic light", "tray", "ashcan", "fan", "pier", "crt screen",
    "plate", "monitor", "bulletin board", "shower", "radiator", "glass", "clock", "flag",
)  # fmt: skip


class ADE20K(SegmentationDataset):
    """ADE20K in its release layout; ``root`` is the ``ADEChallengeData2016`` directory."""

    class_names = CLASSES
    layout = (
        "  <root>/images/training/<name>.jpg        <root>/annotations/training/<name>.png\n"
        "  <root>/images/validation/<name>.jpg      <root>/annotations/validation/<name>.png\n"
        "  (<root> = ADEChallengeData2016; annotation PNGs hold class k as k + 1, 0 = other)"
    )

    def find_pairs(self, split: str) -> list[tuple[Path, Path]]:
        directory = SPLIT_DIRS[split]
        return self.pair_by_stem(self.root / "images" / directory, self.root / "annotations" / directory)

    def label_table(self, ignore_index: int) -> np.ndarray:
        return shifted_labels(self.num_classes, ignore_index)
