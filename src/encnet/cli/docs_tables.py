"""The documentation's result tables, generated from the committed ``results/`` (``make results-tables``,
``python -m encnet.cli.docs_tables``): each table is ``encnet-results`` on a study's runs. A Markdown file
holds a block's output between its markers (``<!-- NAME -->`` … ``<!-- /NAME -->``): all tables in
``docs/results.md``, the final-weights ones in ``README.md``. ``make results-doc`` rewrites both blocks, and a
test checks that the files equal this module's output, so text and data cannot drift apart.

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

CURVES = "{root}/curves/%s --baseline model=fcn --mean-of {ambiguous} --markdown"
TABLES = {
    "6": ("128 px scenes, after 6 epochs", CURVES % "128px" + " --epoch 6"),
    "12": ("128 px scenes, after 12 epochs", CURVES % "128px" + " --epoch 12"),
    "128": ("128 px scenes, after 24 epochs (final weights)", CURVES % "128px"),
    "384": ("384 px scenes (pilot), after 24 epochs (final weights)", CURVES % "384px"),
}
# block name → (the file holding it, relative to the repository; the tables it shows)
BLOCKS = {
    "results-tables": ("docs/results.md", ("6", "12", "128", "384")),
    "headline": ("README.md", ("128", "384")),
}


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name} -->", f"<!-- /{name} -->"


def render(name: str, root: Path = Path("results")) -> str:
    """Block ``name``'s Markdown: per table a heading line, the command, and encnet-results' output."""
    parts = []
    for key in BLOCKS[name][1]:
        heading, template = TABLES[key]
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


def block(path: Path, name: str) -> str:
    """The text between block ``name``'s markers in ``path`` (one error naming the file when they are missing)."""
    begin, end = markers(name)
    text = path.read_text()
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ValueError(f"{path} must hold one {begin} … {end} block")
    return text[text.index(begin) + len(begin):text.index(end)].strip("\n")


def write_block(path: Path, name: str, root: Path = Path("results")) -> None:
    """Replace block ``name`` in ``path`` by :func:`render` of ``root``."""
    block(path, name)  # the markers are there, once
    begin, end = markers(name)
    text = path.read_text()
    start, stop = text.index(begin) + len(begin), text.index(end)
    path.write_text(text[:start] + "\n" + render(name, root).strip("\n") + "\n" + text[stop:])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, nargs="?", default=Path("results"))
    parser.add_argument("--write", type=Path, metavar="REPO", help="update the blocks in REPO's files instead")
    args = parser.parse_args(argv)
    for name, (file, _) in BLOCKS.items():
        if args.write:
            write_block(args.write / file, name, args.root)
        else:
            sys.stdout.write(f"<!-- {name}: {file} -->\n{render(name, args.root)}\n")


if __name__ == "__main__":
    main()
