"""mmsegmentation's EncNet (``EncoderDecoder`` with ``ResNetV1c``, ``EncHead``, ``FCNHead`` auxiliary head).

Its checkpoints (``{"meta": ..., "state_dict": ...}``) name the tensors ``backbone.*``, ``decode_head.*``
and ``auxiliary_head.*``; its ``ConvModule`` keeps a conv and its BatchNorm as ``.conv`` and ``.bn``:

====================================================  ==============================================
mmsegmentation                                        this project (:class:`encnet.models.EncNet`)
====================================================  ==============================================
``backbone.stem.{0,1,3,4,6}`` / ``stem.7``            ``backbone.conv1.{0,1,3,4,6}`` / ``backbone.bn1``
``backbone.layer*``                                   ``backbone.layer*`` (same names)
``decode_head.bottleneck`` (3×3 conv c4 → 512)        ``reduce``
``decode_head.lateral_convs.{0,1}``, ``fusion``       ``lateral.{0,1}``, ``fusion`` (``add_lateral``)
``decode_head.enc_module.encoding_project``           ``cem.encoder.pre_conv`` (1×1 conv + BN)
``decode_head.enc_module.encoding.0`` (Encoding)      ``cem.encoder.encoding`` (``scale`` negated)
``decode_head.enc_module.encoding.1`` (BN1d over K)   ``cem.encoder.norm.0``
``decode_head.enc_module.fc.0``                       ``cem.fc.0`` (γ)
``decode_head.se_layer``                              ``se_head``
``decode_head.conv_seg`` (after dropout 0.1)          ``classifier.1``
``auxiliary_head.convs.0``, ``conv_seg``              ``aux_head.conv``, ``aux_head.classifier.1``
====================================================  ==============================================

The EncHead's forward is this project's with the released CEM (``cem=released``): mean over the K codes,
relu(X + X ⊗ γ), SE head on the aggregated code vector. It has no stage-3 SE head (``stage3_se=false``).
The auxiliary head is one 3×3 conv to 256 channels (``num_convs=1, concat_input=False``). Every EncNet
config of mmsegmentation is dilated to output stride 8 and upsamples with ``align_corners=False`` except
the Cityscapes 769×769 ones (``--align-corners``). Loss weights: SE 0.2, auxiliary 0.4.
"""

from __future__ import annotations

from encnet.models.resnet import OPEN_MMLAB_STEM
from encnet.zoo.layout import Layout

ENC = "decode_head.enc_module."

MMSEG = Layout(
    name="mmseg",
    signature=("backbone.", "decode_head."),
    renames=(
        *((f"backbone.{old}", f"backbone.{new}") for old, new in OPEN_MMLAB_STEM.items()),
        ("backbone.", "backbone."),
        ("decode_head.bottleneck.conv.", "reduce.0."),
        ("decode_head.bottleneck.bn.", "reduce.1."),
        ("decode_head.lateral_convs.0.conv.", "lateral.0.0."),
        ("decode_head.lateral_convs.0.bn.", "lateral.0.1."),
        ("decode_head.lateral_convs.1.conv.", "lateral.1.0."),
        ("decode_head.lateral_convs.1.bn.", "lateral.1.1."),
        ("decode_head.fusion.conv.", "fusion.0."),
        ("decode_head.fusion.bn.", "fusion.1."),
        (f"{ENC}encoding_project.conv.", "cem.encoder.pre_conv.0."),
        (f"{ENC}encoding_project.bn.", "cem.encoder.pre_conv.1."),
        (f"{ENC}encoding.0.", "cem.encoder.encoding."),
        (f"{ENC}encoding.1.", "cem.encoder.norm.0."),
        (f"{ENC}fc.0.", "cem.fc.0."),
        ("decode_head.se_layer.", "se_head."),
        ("decode_head.conv_seg.", "classifier.1."),
        ("auxiliary_head.convs.0.conv.", "aux_head.conv.0."),
        ("auxiliary_head.convs.0.bn.", "aux_head.conv.1."),
        ("auxiliary_head.conv_seg.", "aux_head.classifier.1."),
    ),
    negated=("cem.encoder.encoding.scale",),
    defaults={"output_stride": 8, "align_corners": False, "se_loss_weight": 0.2, "aux_weight": 0.4},
    reference="mmsegmentation 1.2.2: mmseg/models/decode_heads/enc_head.py, fcn_head.py, backbones/resnet.py",
)
