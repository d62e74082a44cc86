"""Model zoo: published EncNet weights (mmsegmentation, PyTorch-Encoding) converted to this project's checkpoints."""
