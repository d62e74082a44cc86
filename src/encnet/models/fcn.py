"""FCN baseline (Long et al. 2015, dilated as in the paper's Table 1): dilated ResNet → FCN head."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from encnet.models.heads import FCNHead
from encnet.models.segmentor import Segmentor


class FCN(Segmentor):
    """Dilated ResNet + FCN head: B×3×H×W → {"out": B×num_classes×H×W (+ "aux" in training)}.

    Args:
        head_channels: width of the head's 3×3 conv (512 as the released baseline for a 2048-channel c4).
        dropout: dropout before the classifier.
        aux_channels, align_corners: see :class:`encnet.models.segmentor.Segmentor`.
    """

    def __init__(
        self,
        num_classes: int,
        backbone: dict[str, Any] | None = None,
        aux: bool = True,
        head_channels: int = 512,
        dropout: float = 0.1,
        aux_channels: int | None = None,
        align_corners: bool = False,
    ) -> None:
        super().__init__(num_classes, backbone, aux, aux_channels, align_corners)
        self.head = FCNHead(self.backbone.stage_channels[3], num_classes, channels=head_channels, dropout=dropout)

    def decode(self, features: list[Tensor]) -> dict[str, Tensor]:
        return {"out": self.head(features[3])}
