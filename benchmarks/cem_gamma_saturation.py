"""How saturated is the CEM's γ = sigmoid(FC(e)), for each CEM form at initialisation, and in a trained EncNet?

    python benchmarks/cem_gamma_saturation.py            # CPU-sized EncNet, 16 context_scenes val images
    python benchmarks/cem_gamma_saturation.py --checkpoint results/checkpoints/context_scenes_128px_encnet_s0.ckpt

Prints, per variant, the mean |e| entering the FC and the fraction of (image, channel) entries of γ below
0.05 (channel almost switched off in Y = X ⊗ γ) or above 0.95. ``--checkpoint``: also the trained network of
an encnet-train checkpoint (its own CEM form, in eval mode), on the same images.
"""

from __future__ import annotations

import argparse

import torch
from torch import Tensor

from encnet.data import ContextScenesDataModule
from encnet.models import EncNet
from encnet.tasks.loading import load_task


def gamma_stats(net: EncNet, images: Tensor) -> Tensor:
    """[mean |e|, share of γ < 0.05, share of γ > 0.95] of ``net``'s CEM on ``images`` (B×3×H×W)."""
    with torch.no_grad():
        encoded = net.cem.encoder(net.reduce(net.backbone(images)[3]))  # B×C
        gamma = net.cem.fc(encoded)
    return torch.stack([encoded.abs().mean(), (gamma < 0.05).float().mean(), (gamma > 0.95).float().mean()])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cache-dir", default=".cache")
    p.add_argument("--num-codes", type=int, default=32)
    p.add_argument("--seeds", type=int, default=3, help="network initialisations averaged")
    p.add_argument("--checkpoint", help="also a trained EncNet's CEM (an encnet-train checkpoint)")
    args = p.parse_args()
    dm = ContextScenesDataModule(cache_dir=args.cache_dir, val_batch_size=16, num_workers=0)
    dm.prepare_data()
    dm.setup("validate")
    images, _ = next(iter(dm.val_dataloader()))  # the first 16 val images: no randomness
    trained = load_task(args.checkpoint, dm.hparams.num_classes).net if args.checkpoint else None
    if trained is not None and not isinstance(trained, EncNet):
        p.error(f"--checkpoint {args.checkpoint} holds a {type(trained).__name__}, which has no CEM")
    print(f"γ at initialisation, K={args.num_codes}, first {len(images)} context_scenes val images, {args.seeds} inits")
    if trained is not None:
        print(f"trained: {args.checkpoint} ({trained.cem.form} CEM, K={trained.cem.encoder.num_codes}, eval mode)")
    print(f"{'cem':<10} {'mean |e|':>9} {'γ < 0.05':>9} {'γ > 0.95':>9}")
    rows = []
    for form in ("paper", "released"):
        stats = []
        for seed in range(args.seeds):
            torch.manual_seed(seed)
            net = EncNet(dm.hparams.num_classes, {"depth": 18, "width": 0.25}, head_channels=64,
                         num_codes=args.num_codes, cem=form).train()
            stats.append(gamma_stats(net, images))
        rows.append((form, torch.stack(stats).mean(0)))
    if trained is not None:
        rows.append(("trained", gamma_stats(trained, images)))
    for name, (e, low, high) in ((name, values.tolist()) for name, values in rows):
        print(f"{name:<10} {e:>9.2f} {low:>9.1%} {high:>9.1%}")


if __name__ == "__main__":
    main()
