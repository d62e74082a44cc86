"""``encnet-convert-pcontext`` (``python -m encnet.cli.convert_pcontext``): one-time conversion of the original
PASCAL-Context release to the PNG layout :class:`encnet.data.PascalContext` reads (the same files as
mmsegmentation's converter writes; :func:`encnet.data.pascal_context.convert_release`). Usage::

    encnet-convert-pcontext /data/VOCdevkit/VOC2010 /data/pascal-context/trainval
"""

from __future__ import annotations

import argparse
from pathlib import Path

from encnet.data.pascal_context import convert_release


def run(voc2010: Path, trainval: Path) -> dict[str, int]:
    """Convert into ``voc2010``; return the number of ids per split."""
    return convert_release(voc2010.expanduser(), trainval.expanduser())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], prog="encnet-convert-pcontext")
    parser.add_argument("voc2010", type=Path, help="VOCdevkit/VOC2010 (written into)")
    parser.add_argument("trainval", type=Path, help="PASCAL-Context trainval/ directory of <id>.mat files")
    args = parser.parse_args(argv)
    counts = run(args.voc2010, args.trainval)
    print(f"wrote {args.voc2010}/SegmentationClassContext and ImageSets/SegmentationContext: {counts}")


if __name__ == "__main__":
    main()
