"""Reading an image file of any mode as H×W×3 uint8 RGB (the datasets and ``encnet.inference.files`` share it).

PIL's ``convert("RGB")`` clips 16- and 32-bit greyscale (``I;16*``, ``I``) at 255 instead of scaling it, so those
are scaled here from their full range (0..65535 → 0..255); float images (``F``) are stretched from their own
min..max. Every other mode (L, LA, P, PA, RGBA, CMYK, 1, YCbCr …) goes through ``convert("RGB")``: palettes are
looked up, alpha is dropped (not composited). PIL reads 16-bit-per-channel RGB(A) PNGs as 8-bit already.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

HIGH_BIT_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")  # 16-bit grey (PIL reads some as 32-bit "I")


def to_rgb(image: Image.Image) -> np.ndarray:
    """A PIL image of any mode → H×W×3 uint8 RGB (see the module's docstring)."""
    if image.mode in HIGH_BIT_DEPTH_MODES:
        grey = np.asarray(image, dtype=np.float64) / 257.0  # 0..65535 → 0..255
        image = Image.fromarray(grey.clip(0, 255).round().astype(np.uint8))
    elif image.mode == "F":
        values = np.asarray(image, dtype=np.float64)
        low, high = values.min(), values.max()
        image = Image.fromarray(((values - low) / max(high - low, 1e-12) * 255).round().astype(np.uint8))
    elif image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # PIL asks palette images with transparency to go through RGBA
    return np.asarray(image.convert("RGB"))


def read_rgb(path: str | Path, exif_transpose: bool = False) -> np.ndarray:
    """Image file → H×W×3 uint8 RGB. ``exif_transpose``: apply the EXIF orientation (photos to predict on;
    dataset images stay as stored, the layout their annotations are drawn on)."""
    with Image.open(path) as image:
        return to_rgb(ImageOps.exif_transpose(image) if exif_transpose else image)
