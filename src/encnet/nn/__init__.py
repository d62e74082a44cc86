"""Plain ``torch.nn`` building blocks of EncNet: the Encoding layer, the Context Encoding Module, SE-loss."""

from encnet.nn.context_encoding import ContextEncoder, ContextEncodingModule
from encnet.nn.encoding import Encoding, encoding, encoding_matmul, encoding_reference
from encnet.nn.se_loss import SELoss, class_presence

__all__ = [
    "ContextEncoder",
    "ContextEncodingModule",
    "Encoding",
    "SELoss",
    "class_presence",
    "encoding",
    "encoding_matmul",
    "encoding_reference",
]
