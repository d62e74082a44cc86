"""CIFAR network throughput: training and inference images/s of each CIFAR-10 experiment's network.

    python benchmarks/cifar_throughput.py                         # batch 64 on CPU, all four experiments
    python benchmarks/cifar_throughput.py --device cuda --batch 128 --iters 50

Each network is built from its experiment config (``conf/experiment/cifar_*.yaml``, composed by Hydra as
``encnet-train`` does). Training = forward + cross-entropy + backward + SGD step in train mode (shakeout on
where the config has it); inference = forward in eval mode under ``torch.inference_mode``. Inputs are random
B×3×32×32 tensors (the data pipeline is not timed). Images/s is from the fastest of ``--iters`` timed
iterations after ``--warmup`` untimed ones (the best time is the least disturbed by other processes
on a shared machine; the header prints the load average).
"""

from __future__ import annotations

import argparse
import os
import time

import torch
import torch.nn.functional as F
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from encnet.infra.config import CONFIG_DIR

EXPERIMENTS = ("cifar_resnet_64d", "cifar_seresnet_64d", "cifar_encnet_16k64d", "cifar_encnet_32k128d")


def build(experiment: str) -> torch.nn.Module:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose("train", overrides=[f"experiment={experiment}"])
    return instantiate(cfg.model).net


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def images_per_s(step, batch: int, warmup: int, iters: int, device: str) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(iters):
        _sync(device)
        start = time.perf_counter()
        step()
        _sync(device)
        times.append(time.perf_counter() - start)
    return batch / min(times)


def measure(net: torch.nn.Module, args: argparse.Namespace) -> tuple[float, float]:
    g = torch.Generator().manual_seed(0)
    images = torch.randn(args.batch, 3, 32, 32, generator=g).to(args.device)
    labels = torch.randint(0, 10, (args.batch,), generator=g).to(args.device)
    net = net.to(args.device)
    optimizer = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1, momentum=0.9)

    def train_step() -> None:
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(net(images), labels).backward()
        optimizer.step()

    def infer_step() -> None:
        with torch.inference_mode():
            net(images)

    net.train()
    train = images_per_s(train_step, args.batch, args.warmup, args.iters, args.device)
    net.eval()
    infer = images_per_s(infer_step, args.batch, args.warmup, args.iters, args.device)
    return train, infer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--experiments", nargs="+", default=list(EXPERIMENTS))
    args = parser.parse_args()
    threads = ""
    if args.device == "cpu":  # the load average tells whether other processes shared the cores
        threads = f", {torch.get_num_threads()} threads, 1-min load average {os.getloadavg()[0]:.1f}"
    print(f"CIFAR throughput, batch {args.batch}×3×32×32 fp32 on {args.device} (torch {torch.__version__}{threads}), "
          f"best of {args.iters} iterations after {args.warmup} warm-up")
    print(f"{'experiment':<22} {'params':>8} {'train img/s':>12} {'infer img/s':>12}")
    for experiment in args.experiments:
        torch.manual_seed(0)
        net = build(experiment)
        params = sum(p.numel() for p in net.parameters())
        train, infer = measure(net, args)
        print(f"{experiment:<22} {params / 1e6:>7.2f}M {train:>12.1f} {infer:>12.1f}")


if __name__ == "__main__":
    main()
