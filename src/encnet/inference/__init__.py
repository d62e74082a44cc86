"""Plain-torch inference around a trained network: multi-scale / flip / sliding-window evaluation
(:mod:`~encnet.inference.multiscale`), segmenting image files (:mod:`~encnet.inference.files`; the public entry
point is ``encnet.predict``) and export to ONNX and TorchScript (:mod:`~encnet.inference.export`). Nothing here
needs Lightning or Hydra."""

from encnet.inference.multiscale import MultiScaleInference, window_starts

__all__ = ["MultiScaleInference", "window_starts"]
