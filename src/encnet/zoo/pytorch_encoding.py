"""PyTorch-Encoding's EncNet (zhanghang1989/PyTorch-Encoding, ``encoding/models/sseg/encnet.py``), the
authors' release behind the paper's numbers.

Its model-zoo files (``encnet_resnet50s_ade`` …) are bare state_dicts of ``EncNet(nclass, backbone=
"resnet50s", aux=True, se_loss=True, lateral=...)``: ``lateral`` is on for PASCAL-Context, off for ADE20K.

==================================================  =================================================
PyTorch-Encoding                                    this project (:class:`encnet.models.EncNet`)
==================================================  =================================================
``pretrained.*`` (resnet50s: deep stem 64-64-128)   ``backbone.*`` (same names; ``stem_width=64``)
``head.conv5.{0,1}`` (3×3 conv c4 → 512, BN)        ``reduce.{0,1}``
``head.connect.{0,1}``, ``head.fusion``             ``lateral.{0,1}``, ``fusion``
``head.encmodule.encoding.{0,1}`` (1×1 conv, BN)    ``cem.encoder.pre_conv.{0,1}``
``head.encmodule.encoding.3`` (Encoding)            ``cem.encoder.encoding`` (``scale`` negated)
``head.encmodule.encoding.4`` (BN over K)           ``cem.encoder.norm.0``
``head.encmodule.fc.0``, ``head.encmodule.selayer`` ``cem.fc.0``, ``se_head``
``head.conv6.1`` (after dropout 0.1)                ``classifier.1``
``auxlayer.conv5.{0,1}``, ``auxlayer.conv5.4``      ``aux_head.conv.{0,1}``, ``aux_head.classifier.1``
==================================================  =================================================

``encoding.5`` of its ``EncModule`` is the mean over the K codes and the output is relu(X + X ⊗ γ): the
released CEM (``cem=released``). No stage-3 SE head. Its ``BaseNet`` upsamples with ``align_corners=True``.
Loss weights of its ``train.py``: SE 0.2, auxiliary 0.2.
"""

from __future__ import annotations

from encnet.zoo.layout import Layout

ENC = "head.encmodule."

PYTORCH_ENCODING = Layout(
    name="pytorch-encoding",
    signature=("pretrained.", "head."),
    renames=(
        ("pretrained.", "backbone."),
        ("head.conv5.", "reduce."),
        ("head.connect.", "lateral."),
        ("head.fusion.", "fusion."),
        (f"{ENC}encoding.0.", "cem.encoder.pre_conv.0."),
        (f"{ENC}encoding.1.", "cem.encoder.pre_conv.1."),
        (f"{ENC}encoding.3.", "cem.encoder.encoding."),
        (f"{ENC}encoding.4.", "cem.encoder.norm.0."),
        (f"{ENC}fc.0.", "cem.fc.0."),
        (f"{ENC}selayer.", "se_head."),
        ("head.conv6.1.", "classifier.1."),
        ("auxlayer.conv5.0.", "aux_head.conv.0."),
        ("auxlayer.conv5.1.", "aux_head.conv.1."),
        ("auxlayer.conv5.4.", "aux_head.classifier.1."),
    ),
    negated=("cem.encoder.encoding.scale",),
    defaults={"output_stride": 8, "align_corners": True, "se_loss_weight": 0.2, "aux_weight": 0.2},
    reference="zhanghang1989/PyTorch-Encoding: encoding/models/sseg/encnet.py, backbone/resnet.py, nn/encoding.py",
)
