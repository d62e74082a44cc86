"""Networks (plain ``torch.nn``): the dilated ResNet backbone, the FCN baseline and EncNet (segmentation), and
the CIFAR pre-activation ResNet with plain, SE or Context-Encoding blocks (classification)."""

from encnet.models.cifar import CifarResNet
from encnet.models.encnet import EncNet
from encnet.models.fcn import FCN
from encnet.models.resnet import ResNet, load_pretrained
from encnet.models.segmentor import Segmentor

SEGMENTORS: dict[str, type[Segmentor]] = {"fcn": FCN, "encnet": EncNet}

__all__ = ["CifarResNet", "FCN", "SEGMENTORS", "EncNet", "ResNet", "Segmentor", "load_pretrained"]
