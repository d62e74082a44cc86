"""Where a CPU training step of the default run (``make train``: EncNet or ``model=fcn`` on 128 px
``context_scenes``, batch 16) spends its time, and what channels-last memory format or bf16 autocast change.

    OMP_NUM_THREADS=1 python benchmarks/cpu_train_step.py                 # the default EncNet
    OMP_NUM_THREADS=1 python benchmarks/cpu_train_step.py model=fcn       # Hydra overrides of encnet-train

Rows (median seconds over ``--repeat`` calls after one warm-up):

* ``load batch``: one batch from the real training loader in this process (``data.num_workers=0``): PNG
  decoding and the albumentations pipeline, as the study's single-thread runs do it.
* ``step fp32``: forward, the task's full loss, backward and an SGD step on that batch (what training computes).
* ``step fp32 channels_last``: the same with the network and the images in channels-last memory format
  (the same arithmetic up to float rounding).
* ``step bf16 autocast``: the same under CPU autocast to bfloat16 (changes the arithmetic: an option only).

``--rows`` picks the variants and their order. Then the ten most expensive operators of one step of the first
row (``torch.profiler``, self CPU time).
"""

from __future__ import annotations

import argparse

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from measure import median_seconds
from torch.profiler import ProfilerActivity, profile

from encnet.infra.config import CONFIG_DIR

ROWS = {"fp32": {}, "channels_last": {"channels_last": True}, "bf16": {"dtype": torch.bfloat16}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of encnet-train (key=value)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rows", nargs="+", choices=tuple(ROWS), default=list(ROWS),
                        help="the step variants, measured in this order (the first one is profiled)")
    args = parser.parse_args()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=["data.num_workers=0", "paths.root_dir=.", *args.overrides])
    torch.manual_seed(0)
    datamodule = instantiate(cfg.data)
    datamodule.prepare_data()
    datamodule.setup("fit")
    loader = datamodule.train_dataloader()
    batches = iter(loader)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); {cfg.model._target_} "
          f"{' '.join(args.overrides)}; batch {cfg.data.batch_size}, {cfg.data.crop_size} px")
    print(f"{'load batch':28s} {median_seconds(lambda: next(batches), 'cpu', args.repeat, 1):8.3f} s")
    images, masks = next(iter(loader))

    def timed(name: str, channels_last: bool = False, dtype: torch.dtype | None = None):
        task = instantiate(cfg.model, **datamodule.dataset_info)
        task.train()
        net = task.net.to(memory_format=torch.channels_last) if channels_last else task.net
        inputs = images.contiguous(memory_format=torch.channels_last) if channels_last else images
        optimizer = torch.optim.SGD(task.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)

        def step() -> None:
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
                loss = task.compute_losses(net(inputs), masks)["loss"]
            loss.backward()
            optimizer.step()

        print(f"{'step ' + name:28s} {median_seconds(step, 'cpu', args.repeat, 1):8.3f} s")
        return step

    steps = [timed(row, **ROWS[row]) for row in args.rows]
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        steps[0]()
    print(f"profile of one step {args.rows[0]}:")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))


if __name__ == "__main__":
    main()
