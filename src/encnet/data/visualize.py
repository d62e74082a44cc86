"""Label maps as pictures: the class palette, indexed PNGs, and colours blended over a photo with a legend.

The palette is PASCAL VOC's (class k gets the colour whose bits interleave k's bits), the colour table of
VOC's own annotation PNGs: class 0 is black and the unlabelled value 255 is VOC's boundary cream (224, 224, 192).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from encnet.data.dataset import IGNORE_INDEX

LEGEND_FONT_SIZE = 12


def palette(num_classes: int = 256) -> np.ndarray:
    """num_classes×3 uint8 colours, VOC's bit-interleaved colour map (all 256 label values by default)."""
    ids = np.arange(num_classes)
    colours = np.zeros((num_classes, 3), np.int64)
    for shift in range(8):
        for channel in range(3):
            bit = (ids >> (3 * shift + channel)) & 1
            colours[:, channel] |= bit << (7 - shift)
    return colours.astype(np.uint8)


def colour_table(class_colours: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """256×3 uint8 colours of the label values: ``class_colours`` (a dataset's own, class-id order) first,
    :func:`palette` beyond them (and for all of them when there are none)."""
    table = palette()
    if class_colours:
        table[: len(class_colours)] = np.asarray(class_colours, np.uint8)
    return table


def colorize(label: np.ndarray, colours: np.ndarray | None = None) -> np.ndarray:
    """H×W label values → H×W×3 uint8 colours (``colours``: 256×3, default :func:`palette`)."""
    return (palette() if colours is None else colours)[label]


def indexed_png(label: np.ndarray, colours: np.ndarray) -> Image.Image:
    """H×W class ids → a mode-P image whose pixel values are the ids and whose palette is ``colours``."""
    image = Image.fromarray(label.astype(np.uint8))  # mode L; putpalette makes it P
    table = np.zeros((256, 3), np.uint8)
    table[: len(colours)] = colours
    image.putpalette(table.ravel().tolist())
    return image


def overlay(
    image: np.ndarray, label: np.ndarray, colours: np.ndarray, class_names: Sequence[str], alpha: float = 0.5
) -> Image.Image:
    """Photo H×W×3 uint8 with the label colours blended in (weight ``alpha``) and, to its right, a legend of
    the classes present in ``label``."""
    blended = (image * (1 - alpha) + colorize(label, colours) * alpha).round().astype(np.uint8)
    present = [int(k) for k in np.unique(label) if k != IGNORE_INDEX]
    font = ImageFont.load_default(size=LEGEND_FONT_SIZE)
    row = LEGEND_FONT_SIZE + 6
    text_width = max((int(font.getlength(class_names[k])) for k in present), default=0)
    legend_width = row + text_width + 12
    height, width = label.shape
    canvas = Image.new("RGB", (width + legend_width, max(height, row * len(present) + 4)), "white")
    canvas.paste(Image.fromarray(blended), (0, 0))
    draw = ImageDraw.Draw(canvas)
    for i, k in enumerate(present):
        top = 4 + i * row
        draw.rectangle([width + 4, top, width + row - 2, top + row - 6], fill=tuple(int(c) for c in colours[k]),
                       outline="black")
        draw.text((width + row + 2, top - 2), class_names[k], fill="black", font=font)
    return canvas
