"""``encnet-convert-weights`` (``python -m encnet.cli.convert_weights``): a published EncNet checkpoint → a
checkpoint of this project (:func:`encnet.zoo.conversion.convert`).

    encnet-convert-weights SRC DST --source mmseg|pytorch-encoding [--num-classes N]
"""

from __future__ import annotations

import argparse
import sys

from encnet.zoo.conversion import LAYOUTS, convert


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="encnet-convert-weights",
        description="Convert a published EncNet checkpoint (mmsegmentation, PyTorch-Encoding) into an encnet one.")
    parser.add_argument("src", help="published checkpoint: path or http(s) URL")
    parser.add_argument("dst", help="output checkpoint (.ckpt) for encnet-eval ckpt_path=... / init_weights=...")
    parser.add_argument("--source", required=True, choices=sorted(LAYOUTS), help="the toolbox that wrote SRC")
    parser.add_argument("--num-classes", type=int, default=None,
                        help="classes of DST; if not SRC's, the class layers start fresh (fine-tuning)")
    parser.add_argument("--align-corners", action=argparse.BooleanOptionalAction, default=None,
                        help="logit upsampling (default: mmseg false, pytorch-encoding true; mmseg's "
                             "Cityscapes 769×769 models: true)")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="read SRC with torch.load(weights_only=False): only for a file you trust")
    args = parser.parse_args(argv)
    try:
        provenance = convert(args.src, args.dst, args.source, args.num_classes, args.align_corners,
                             args.allow_pickle)
    except (FileNotFoundError, ValueError) as err:
        print(f"encnet-convert-weights: error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    arch = provenance["architecture"]
    print(f"wrote {args.dst}: EncNet, {arch['backbone']}, {arch['num_classes']} classes, K={arch['num_codes']}, "
          f"{arch['cem']} CEM, head {arch['head_channels']}, aux {arch['aux_channels']}, "
          f"lateral={arch['lateral']}, align_corners={arch['align_corners']} (from {args.source} {args.src})")
    if provenance["reinitialised"]:
        print(f"fresh for {arch['num_classes']} classes (SRC has {provenance['published_num_classes']}): "
              + ", ".join(provenance["reinitialised"]))


if __name__ == "__main__":
    main()
