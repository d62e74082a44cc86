"""How saturated is the CEM's γ = sigmoid(FC(e)) at initialisation, for each CEM form?

    python benchmarks/cem_gamma_saturation.py            # CPU-sized EncNet, 16 context_scenes val images

Prints, per variant, the mean |e| entering the FC and the fraction of (image, channel) entries of γ below
0.05 (channel almost switched off in Y = X ⊗ γ) or above 0.95.
"""

from __future__ import annotations

import argparse

import torch

from encnet.data import ContextScenesDataModule
from encnet.models import EncNet


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache-dir", default=".cache")
    p.add_argument("--num-codes", type=int, default=32)
    p.add_argument("--seeds", type=int, default=3, help="network initialisations averaged")
    args = p.parse_args()
    dm = ContextScenesDataModule(cache_dir=args.cache_dir, val_batch_size=16, num_workers=0)
    dm.prepare_data()
    dm.setup("validate")
    images, _ = next(iter(dm.val_dataloader()))  # the first 16 val images: no randomness
    print(f"γ at initialisation, K={args.num_codes}, first {len(images)} context_scenes val images, {args.seeds} inits")
    print(f"{'cem':<10} {'mean |e|':>9} {'γ < 0.05':>9} {'γ > 0.95':>9}")
    for form in ("paper", "released"):
        stats = []
        for seed in range(args.seeds):
            torch.manual_seed(seed)
            net = EncNet(dm.hparams.num_classes, {"depth": 18, "width": 0.25}, head_channels=64,
                         num_codes=args.num_codes, cem=form).train()
            with torch.no_grad():
                encoded = net.cem.encoder(net.reduce(net.backbone(images)[3]))
                gamma = net.cem.fc(encoded)
            saturated = [(gamma < 0.05).float().mean(), (gamma > 0.95).float().mean()]
            stats.append(torch.stack([encoded.abs().mean(), *saturated]))
        e, low, high = torch.stack(stats).mean(0).tolist()
        print(f"{form:<10} {e:>9.2f} {low:>9.1%} {high:>9.1%}")


if __name__ == "__main__":
    main()
