"""encnet — Context Encoding Networks (Zhang et al., CVPR 2018) with PyTorch Lightning and Hydra."""

__version__ = "0.1.0"
