"""Segmentors and the segmentation task: output shapes, losses, head parameters."""

from __future__ import annotations

import pytest
import torch

from encnet.models import FCN, EncNet, ResNet
from encnet.tasks import SegmentationTask

TINY_BACKBONE = {"depth": 18, "width": 0.125}


@pytest.mark.parametrize("num_codes", [0, 8])
def test_encnet_outputs(num_codes):
    net = EncNet(5, TINY_BACKBONE, head_channels=16, num_codes=num_codes)
    x = torch.randn(2, 3, 50, 42)
    out = net.train()(x)
    assert out["out"].shape == (2, 5, 50, 42) and out["aux"].shape == (2, 5, 50, 42)
    assert out["se"].shape == (2, 5) and out["se3"].shape == (2, 5)
    out = net.eval()(x)
    assert set(out) == {"out", "se"}


def test_encnet_without_optional_heads():
    net = EncNet(5, TINY_BACKBONE, head_channels=16, se_loss=False, aux=False).train()
    assert set(net(torch.randn(2, 3, 32, 32))) == {"out"}
    assert net.se_head is None and net.stage3 is None  # no SE-loss: the stage-3 encoder is absent too


@pytest.mark.parametrize("stage3_se", [True, False])
def test_zero_alpha_means_no_se_heads(stage3_se):
    """α = 0 builds the same network as "no SE-loss": no SE head, no stage-3 encoder, no SE loss terms."""
    task = SegmentationTask("encnet", 4, se_loss_weight=0.0, stage3_se=stage3_se, backbone=TINY_BACKBONE,
                            head_channels=16)
    assert task.net.se_head is None and task.net.stage3 is None
    losses = task.compute_losses(task.net.train()(torch.randn(2, 3, 32, 32)), torch.randint(0, 4, (2, 32, 32)))
    assert set(losses) == {"loss", "loss_ce", "loss_aux"}
    with_se = SegmentationTask("encnet", 4, se_loss_weight=0.2, stage3_se=stage3_se, backbone=TINY_BACKBONE,
                               head_channels=16)
    assert with_se.net.se_head is not None and (with_se.net.stage3 is not None) is stage3_se


def test_se_loss_switch_is_alpha():
    with pytest.raises(TypeError, match="se_loss_weight=0"):
        SegmentationTask("encnet", 4, se_loss=False, backbone=TINY_BACKBONE, head_channels=16)
    with pytest.raises(ValueError, match="se_loss_weight must be"):
        SegmentationTask("encnet", 4, se_loss_weight=-0.1, backbone=TINY_BACKBONE, head_channels=16)


def test_fcn_outputs():
    net = FCN(4, TINY_BACKBONE, head_channels=16).train()
    out = net(torch.randn(2, 3, 40, 40))
    assert set(out) == {"out", "aux"} and out["out"].shape == (2, 4, 40, 40)


def test_head_parameters_exclude_backbone():
    net = EncNet(5, TINY_BACKBONE, head_channels=16)
    head = {id(p) for p in net.head_parameters()}
    assert not head & {id(p) for p in net.backbone.parameters()}
    assert len(head) + len(list(net.backbone.parameters())) == len(list(net.parameters()))


@pytest.mark.parametrize("arch", ["encnet", "fcn"])
def test_task_returns_logits(arch):
    task = SegmentationTask(arch, num_classes=6, backbone=TINY_BACKBONE, head_channels=16).eval()
    assert task(torch.randn(2, 3, 33, 47)).shape == (2, 6, 33, 47)


def test_task_losses_are_weighted_sum():
    task = SegmentationTask("encnet", 4, se_loss_weight=0.5, aux_weight=0.3, backbone=TINY_BACKBONE, head_channels=16)
    images, masks = torch.randn(2, 3, 32, 32), torch.randint(0, 4, (2, 32, 32))
    masks[0, :4] = 255
    losses = task.compute_losses(task.net.train()(images), masks)
    assert set(losses) == {"loss", "loss_ce", "loss_aux", "loss_se", "loss_se3"}
    expected = losses["loss_ce"] + 0.3 * losses["loss_aux"] + 0.5 * (losses["loss_se"] + losses["loss_se3"])
    torch.testing.assert_close(losses["loss"], expected)


def test_task_rejects_unknown_arch_and_options():
    with pytest.raises(ValueError, match="model.arch"):
        SegmentationTask("deeplab", 4)
    with pytest.raises(TypeError, match="model.arch=fcn.*num_codes"):
        SegmentationTask("fcn", 4, backbone=TINY_BACKBONE, num_codes=8)


def test_checkpoint_reloads_by_itself(tmp_path):
    import pytorch_lightning as pl

    task = SegmentationTask("encnet", 3, backbone=TINY_BACKBONE, head_channels=16, num_codes=4)
    trainer = pl.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False, max_epochs=0)
    trainer.strategy.connect(task)
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    reloaded = SegmentationTask.load_from_checkpoint(tmp_path / "m.ckpt").eval()
    x = torch.randn(1, 3, 24, 24)
    torch.testing.assert_close(reloaded(x), task.eval()(x))
    assert reloaded.hparams.num_codes == 4


@pytest.mark.parametrize("segmentor", [EncNet, FCN])
def test_segmentor_loads_pretrained_backbone_on_demand(tmp_path, segmentor):
    source = ResNet(**TINY_BACKBONE)
    torch.save(source.state_dict(), tmp_path / "resnet18.pth")
    net = segmentor(3, TINY_BACKBONE | {"pretrained": str(tmp_path / "resnet18.pth")}, head_channels=16)
    assert not torch.equal(net.backbone.layer1[0].conv1.weight, source.layer1[0].conv1.weight)
    head = {k: v.clone() for k, v in net.state_dict().items() if not k.startswith("backbone.")}
    net.load_pretrained_weights()
    for key, value in source.state_dict().items():
        assert torch.equal(net.backbone.state_dict()[key], value), key
    assert all(torch.equal(net.state_dict()[k], v) for k, v in head.items())  # the heads are untouched


def test_checkpoint_reloads_without_its_pretrained_file(tmp_path):
    import pytorch_lightning as pl

    backbone = TINY_BACKBONE | {"pretrained": str(tmp_path / "gone" / "resnet18.pth")}
    task = SegmentationTask("encnet", 3, backbone=backbone, head_channels=16, num_codes=4)
    trainer = pl.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False, max_epochs=0)
    trainer.strategy.connect(task)
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    reloaded = SegmentationTask.load_from_checkpoint(tmp_path / "m.ckpt").eval()
    assert reloaded.hparams.backbone["pretrained"].endswith("gone/resnet18.pth")
    x = torch.randn(1, 3, 24, 24)
    torch.testing.assert_close(reloaded(x), task.eval()(x))


def test_optimizer_groups_and_poly_schedule():
    from types import SimpleNamespace

    task = SegmentationTask("encnet", 3, lr=0.02, head_lr_mult=10, backbone=TINY_BACKBONE, head_channels=16)
    task._trainer = SimpleNamespace(estimated_stepping_batches=10)
    config = task.configure_optimizers()
    optimizer, scheduler = config["optimizer"], config["lr_scheduler"]["scheduler"]
    assert config["lr_scheduler"]["interval"] == "step"
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.02, 0.2])
    assert optimizer.defaults["momentum"] == 0.9 and optimizer.defaults["weight_decay"] == 1e-4
    for _ in range(5):
        optimizer.step()
        scheduler.step()
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.02 * 0.5**0.9, 0.2 * 0.5**0.9])


def test_linear_warmup_then_poly():
    from types import SimpleNamespace

    task = SegmentationTask("fcn", 3, lr=0.02, warmup_steps=4, backbone=TINY_BACKBONE, head_channels=16)
    task._trainer = SimpleNamespace(estimated_stepping_batches=10)
    config = task.configure_optimizers()
    optimizer, scheduler = config["optimizer"], config["lr_scheduler"]["scheduler"]
    seen = []
    for _ in range(6):
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    poly = [(1 - step / 10) ** 0.9 for step in range(6)]
    ramp = [0.25, 0.5, 0.75, 1, 1, 1]
    assert seen == pytest.approx([0.02 * p * r for p, r in zip(poly, ramp)])
    with pytest.raises(ValueError, match="model.warmup_steps must be ≥ 0, got -1"):
        SegmentationTask("fcn", 3, warmup_steps=-1, backbone=TINY_BACKBONE, head_channels=16)


def test_predict_step_returns_labels():
    import pytorch_lightning as pl
    from torch.utils.data import DataLoader

    task = SegmentationTask("fcn", 5, backbone=TINY_BACKBONE, head_channels=16)
    trainer = pl.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False)
    preds = trainer.predict(task, DataLoader(torch.randn(3, 3, 20, 28), batch_size=2))
    assert [p.shape for p in preds] == [(2, 20, 28), (1, 20, 28)] and preds[0].dtype == torch.int64


def test_lateral_fusion_feeds_the_cem():
    net = EncNet(5, TINY_BACKBONE, head_channels=16, lateral=True).train()
    c2, c3 = net.backbone.stage_channels[1:3]
    assert [net.lateral[i][0].in_channels for i in (0, 1)] == [c2, c3] and net.fusion[0].in_channels == 48
    out = net(torch.randn(2, 3, 40, 36))
    assert out["out"].shape == (2, 5, 40, 36)
    out["out"].sum().backward()
    assert net.lateral[0][0].weight.grad.abs().sum() > 0 and net.lateral[1][0].weight.grad.abs().sum() > 0
    assert EncNet(5, TINY_BACKBONE, head_channels=16).lateral is None  # off by default


def test_auxiliary_width_and_align_corners():
    assert EncNet(5, TINY_BACKBONE, head_channels=16).aux_head.conv[0].out_channels == 8  # C3 / 4 by default
    assert EncNet(5, TINY_BACKBONE, head_channels=16, aux_channels=12).aux_head.conv[0].out_channels == 12
    assert FCN(5, TINY_BACKBONE, head_channels=16, aux_channels=12).aux_head.conv[0].out_channels == 12
    net = EncNet(5, TINY_BACKBONE, head_channels=16, align_corners=True).eval()
    x = torch.randn(1, 3, 37, 41)  # logits 5×6: output (9, 8) sits exactly on logit (1, 1) when corners align
    with torch.no_grad():
        low = net.decode(net.backbone(x))["out"]
        out = net(x)["out"]
        net.align_corners = False
        shifted = net(x)["out"]
    assert low.shape[-2:] == (5, 6)
    torch.testing.assert_close(out[..., 9, 8], low[..., 1, 1])
    torch.testing.assert_close(out[..., -1, -1], low[..., -1, -1])
    assert not torch.allclose(shifted[..., 9, 8], low[..., 1, 1])
