"""Checkpoints written before a change of the package's layout still load and predict the same logits, and a
training run still resumes from one: ``tests/fixtures/tiny_encnet_before_layout_change.ckpt`` (one epoch of a
tiny EncNet, full Lightning state) and its logits on a seeded input, both written by the code of that time."""

from __future__ import annotations

from pathlib import Path

import torch

from encnet.tasks import load_task

FIXTURE = Path(__file__).parent / "fixtures" / "tiny_encnet_before_layout_change"


def test_an_old_checkpoint_loads_and_predicts_the_same_logits():
    task = load_task(FIXTURE.with_suffix(".ckpt"), 14)
    expected = torch.load(FIXTURE.with_suffix(".pt"), weights_only=True)
    with torch.no_grad():
        out = task.net(expected["input"])
    assert torch.equal(out["out"], expected["out"]) and torch.equal(out["se"], expected["se"])


def test_training_resumes_from_an_old_checkpoint(compose_train):
    from encnet.cli.train import run as train

    cfg = compose_train("callbacks=default", "trainer.max_epochs=2", "trainer.limit_train_batches=1",
                        f"ckpt_path={FIXTURE.with_suffix('.ckpt')}")
    record = train(cfg)
    assert record["resumed_from"] == str(FIXTURE.with_suffix(".ckpt"))
    assert [epoch["epoch"] for epoch in record["history"]] == [0, 1]  # epoch 0 restored from the checkpoint
