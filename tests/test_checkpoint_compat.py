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
    # equal up to float rounding: the convolution kernels oneDNN picks depend on the CPU (the fixture's machine gave
    # bit-equal logits; another CPU of the same kind, 5e-7 at most on logits of magnitude 1.3)
    for key in ("out", "se"):
        torch.testing.assert_close(out[key], expected[key], rtol=1e-5, atol=1e-6)


def test_training_resumes_from_an_old_checkpoint(compose_train):
    from encnet.cli.train import run as train

    cfg = compose_train("callbacks=default", "trainer.max_epochs=2", "trainer.limit_train_batches=1",
                        f"ckpt_path={FIXTURE.with_suffix('.ckpt')}")
    record = train(cfg)
    assert record["resumed_from"] == str(FIXTURE.with_suffix(".ckpt"))
    assert [epoch["epoch"] for epoch in record["history"]] == [0, 1]  # epoch 0 restored from the checkpoint
