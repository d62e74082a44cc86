"""Segmentation networks (plain ``torch.nn``): the dilated ResNet backbone, the FCN baseline and EncNet."""

from encnet.models.encnet import EncNet
from encnet.models.fcn import FCN
from encnet.models.resnet import ResNet, load_pretrained
from encnet.models.segmentor import Segmentor

SEGMENTORS: dict[str, type[Segmentor]] = {"fcn": FCN, "encnet": EncNet}

__all__ = ["FCN", "SEGMENTORS", "EncNet", "ResNet", "Segmentor", "load_pretrained"]
