"""Segment one's own images: ``encnet.predict(model, inputs, output_dir)``.

For every input image ``<stem>.<ext>`` two files are written to ``output_dir``:

* ``<stem>.png``: the predicted class ids at the input's size, an indexed PNG with the class palette
  (:mod:`encnet.data.visualize`), so that its pixel values are the ids and a viewer shows the colours;
* ``<stem>_overlay.jpg``: the colours blended over the photo, with a legend of the classes present.

Inputs are a file, a directory (its files, not recursing, hidden ones skipped) or a glob pattern; any size,
and grayscale, palette, RGBA and 16-bit images are converted to 8-bit RGB as the datasets read them
(:mod:`encnet.data.images`), EXIF rotation applied. A file that cannot be read as an image does not stop the
others: all failures are raised together, by name, once every good image is written.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import rich.progress
import torch
from PIL import Image
from torch import Tensor

from encnet.data.images import read_rgb
from encnet.data.transforms import IMAGENET_MEAN, IMAGENET_STD, eval_transform
from encnet.data.visualize import indexed_png, overlay, palette
from encnet.inference.multiscale import MultiScaleInference
from encnet.infra.outputs import require_writable, save_image


class PredictionError(RuntimeError):
    """Some inputs could not be segmented (every other input's outputs were written). ``failures``: path → why."""

    def __init__(self, failures: dict[Path, str], output_dir: Path) -> None:
        self.failures = failures
        lines = "\n".join(f"  {path}: {why}" for path, why in failures.items())
        super().__init__(f"{len(failures)} input(s) could not be segmented (the other images' predictions are in "
                         f"{output_dir}):\n{lines}")


def find_inputs(spec: str | Path) -> list[Path]:
    """The files named by ``spec``: a file, a directory (its non-hidden files, sorted) or a glob pattern."""
    path = Path(spec).expanduser()
    if path.is_dir():
        files = [p for p in sorted(path.iterdir()) if p.is_file() and not p.name.startswith(".")]
    elif path.is_file():
        files = [path]
    else:
        files = [Path(p) for p in sorted(glob.glob(str(path), recursive=True)) if Path(p).is_file()]
    if not files:
        raise FileNotFoundError(f"input={spec}: no such file, no files in that directory, or no glob match")
    return files


def output_paths(output_dir: Path, source: Path) -> tuple[Path, Path]:
    """(``<stem>.png``, ``<stem>_overlay.jpg``) in ``output_dir`` for input ``source``."""
    return output_dir / f"{source.stem}.png", output_dir / f"{source.stem}_overlay.jpg"


def predict(
    model: Callable[[Tensor], Tensor],
    inputs: str | Path | Sequence[str | Path],
    output_dir: str | Path,
    class_names: Sequence[str] | None = None,
    colours: np.ndarray | None = None,
    inference: MultiScaleInference | None = None,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    overwrite: bool = False,
    device: str | torch.device = "cpu",
    progress: bool = True,
) -> list[Path]:
    """Segment ``inputs`` and write their label PNGs and overlays to ``output_dir``; return the label PNGs.

    Args:
        model: a network (normalised images B×3×H×W → logits B×K×H×W, e.g. a ``SegmentationTask``;
            ``encnet.predict`` also takes the path of a checkpoint written by ``encnet-train``).
        inputs: a file, a directory, a glob pattern, or a list of files.
        class_names: the names of the classes for the overlays' legends (``class_<id>`` beyond them); default:
            those the model was trained with (a ``SegmentationTask``'s), else none.
        colours: 256×3 uint8 colours of the label values; default: the model's (its dataset's class colours),
            else :func:`encnet.data.visualize.palette`.
        inference: multi-scale / flip / sliding-window settings (default: one pass over the whole image at
            its own size).
        mean, std: the input normalisation the model was trained with.
        overwrite: replace existing outputs; otherwise their presence is an error before anything runs.

    Raises:
        FileExistsError: outputs exist and ``overwrite`` is false (nothing is written).
        PredictionError: some inputs are not readable images (all the others were written).
    """
    if isinstance(model, torch.nn.Module):
        model = model.to(device).eval()
    files = [Path(p) for p in inputs] if isinstance(inputs, (list, tuple)) else find_inputs(inputs)
    output_dir = Path(output_dir).expanduser()
    if not overwrite:
        existing = [str(p) for f in files for p in output_paths(output_dir, f) if p.exists()]
        if existing:
            raise FileExistsError(f"output_dir={output_dir} already holds {len(existing)} of the outputs "
                                  f"({', '.join(existing[:3])}, …); pass overwrite=true or another output_dir")
    require_writable(output_dir, "output_dir")
    inference = inference or MultiScaleInference(mode="whole", base_size=None)
    normalise = eval_transform(None, mean, std)
    if class_names is None and hasattr(model, "class_names"):
        class_names = model.class_names()
    if colours is None:
        colours = model.colour_table() if hasattr(model, "colour_table") else palette()
    names = [*(class_names or []), *(f"class_{k}" for k in range(len(class_names or []), 256))]

    written: list[Path] = []
    failures: dict[Path, str] = {}
    stems: dict[str, Path] = {}
    for source in rich.progress.track(files, description="predicting", disable=not progress):
        if source.stem in stems:
            failures[source] = f"its outputs would replace those of {stems[source.stem]} (same name stem)"
            continue
        try:
            image = read_rgb(source, exif_transpose=True)
        except (OSError, ValueError, Image.DecompressionBombError) as err:
            failures[source] = f"not a readable image ({type(err).__name__}: {err})"
            continue
        stems[source.stem] = source
        tensor = normalise(image=image)["image"][None].to(device)
        labels = inference(model, tensor).argmax(dim=1)[0].cpu().numpy()
        label_path, overlay_path = output_paths(output_dir, source)
        save_image(indexed_png(labels, colours), label_path)
        save_image(overlay(image, labels, colours, names), overlay_path, quality=90)
        written.append(label_path)
    if failures:
        raise PredictionError(failures, output_dir)
    return written
