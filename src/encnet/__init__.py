"""encnet — Context Encoding Networks (Zhang et al., CVPR 2018) with PyTorch Lightning and Hydra.

``encnet.predict(model, inputs, output_dir, ...)`` segments one's own images (:func:`encnet.prediction.predict`).
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "predict":  # imported on first use, so that `import encnet` stays light
        from encnet.prediction import predict

        return predict
    raise AttributeError(f"module 'encnet' has no attribute {name!r}")
