"""Plain-torch inference around a trained network: multi-scale / flip / sliding-window evaluation
(:mod:`~encnet.inference.multiscale`), segmenting image files (:mod:`~encnet.inference.files`), export to ONNX and
TorchScript (:mod:`~encnet.inference.export`) and the colours of masks and overlays
(:mod:`~encnet.data.visualize`).

``MultiScaleInference`` is imported here; ``predict`` and ``export`` on first use (they need PIL, rich, onnx).
"""

from encnet.inference.multiscale import MultiScaleInference, window_starts

__all__ = ["MultiScaleInference", "export", "predict", "window_starts"]


def __getattr__(name: str):
    if name == "predict":
        from encnet.inference.files import predict

        return predict
    if name == "export":
        from encnet.inference.export import export

        return export
    raise AttributeError(f"module 'encnet.inference' has no attribute {name!r}")
