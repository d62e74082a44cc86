"""The README's result tables, generated from the committed ``results/`` (``make results-tables``,
``python -m encnet.cli.readme_tables``): each table is ``encnet-results`` on a study's runs; the README holds this
module's output between the ``<!-- results-tables -->`` markers (``make readme-tables`` rewrites them), and a
test checks that they are equal.

``TABLES``: (heading, encnet-results arguments with ``{root}`` for the results directory and ``{ambiguous}``
for the context_scenes classes that only the scene decides).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from pathlib import Path

from encnet.cli.results import main as results
from encnet.data.context_scenes import AMBIGUOUS

BEGIN, END = "<!-- results-tables -->", "<!-- /results-tables -->"
CURVES = "{root}/curves/%s --baseline model=fcn --mean-of {ambiguous} --markdown"
TABLES = (
    ("128 px scenes, after 6 epochs", CURVES % "128px" + " --epoch 6"),
    ("128 px scenes, after 12 epochs", CURVES % "128px" + " --epoch 12"),
    ("128 px scenes, after 24 epochs (final weights)", CURVES % "128px"),
    ("384 px scenes (pilot), after 24 epochs (final weights)", CURVES % "384px"),
)


def render(root: Path = Path("results")) -> str:
    """The tables' Markdown: per table a heading line, the command, and encnet-results' output."""
    parts = []
    for heading, template in TABLES:
        argv = template.format(root=root, ambiguous=" ".join(AMBIGUOUS)).split()
        command = template.format(root=root, ambiguous="<ambiguous>")
        if not any(Path(argv[0]).rglob("metrics.json")):
            parts.append(f"**{heading}** (`encnet-results {command}`): no run has finished yet.\n")
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            results(argv)
        parts.append(f"**{heading}** (`encnet-results {command}`):\n\n{out.getvalue().strip()}\n")
    return "\n".join(parts)


def readme_block(readme: Path) -> str:
    """The text between the markers in ``readme`` (one error naming the file when they are missing)."""
    text = readme.read_text()
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise ValueError(f"{readme} must hold one {BEGIN} … {END} block")
    return text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip("\n")


def write_readme(readme: Path, root: Path = Path("results")) -> None:
    """Replace the block between the markers in ``readme`` by :func:`render` of ``root``."""
    readme_block(readme)  # the markers are there, once
    text = readme.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    readme.write_text(text[:start] + "\n" + render(root).strip("\n") + "\n" + text[end:])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, nargs="?", default=Path("results"))
    parser.add_argument("--write", type=Path, metavar="README.md", help="update the tables in this file instead")
    args = parser.parse_args(argv)
    if args.write:
        write_readme(args.write, args.root)
    else:
        sys.stdout.write(render(args.root))


if __name__ == "__main__":
    main()
