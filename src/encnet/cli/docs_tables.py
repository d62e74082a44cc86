"""The documentation's result tables and figures, generated from the committed ``results/`` (``make
results-tables``, ``python -m encnet.cli.docs_tables``): each item is ``encnet-results`` on a study's runs; a
Markdown file (``FILES``: ``docs/results.md``, and the README's headline) holds this module's output for each
block between its ``<!-- results-tables:NAME -->`` markers (``make results-doc`` rewrites them and draws the
figures), and a test checks that they are equal, so text and data cannot drift apart.

``BLOCKS``: per block, its items (heading, encnet-results arguments with ``{root}`` for the results
directory and ``{ambiguous}`` for the context_scenes classes that only the scene decides, the command that makes
the runs). An item with ``--plot FILE`` is a figure: its table and ``FILE``, drawn by :func:`draw_figures`. An
item whose directories hold no run yet says so, with its command.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from pathlib import Path

from encnet.cli.results import main as results
from encnet.data.context_scenes import AMBIGUOUS
from encnet.study.records import collect

CURVES = "{root}/curves/%s --baseline model=fcn --mean-of {ambiguous} --markdown"
PILOT = "{root}/pilot/384px/48ep --baseline model=fcn --mean-of {ambiguous} --markdown"
MULTISCALE = "{root}/multiscale/%s --baseline inference@eval=default --mean-of {ambiguous} --markdown"
FIGURE5 = ("{root}/curves/128px/encnet {root}/table1/128px/%s {root}/figure5/128px/%s --baseline %s "
           "--mean-of {ambiguous} --markdown")
STABILITY = "{root}/curves/128px {root}/stability/128px/%s --baseline %s --metric val/mIoU --stability --markdown"
FIGURE5_ITEMS = (
    ("Figure 5 in miniature: against α (`model.se_loss_weight`)",
     FIGURE5 % ("no_se", "alpha", "model.se_loss_weight") + " --plot docs/figure5_alpha.png", "make curves figure5"),
    ("Figure 5 in miniature: against K (`model.num_codes`)",
     FIGURE5 % ("k0", "codes", "model.num_codes") + " --plot docs/figure5_codes.png", "make curves figure5"),
)
TABLE1 = (("Table 1 in miniature: 128 px scenes, 24 epochs (final weights)",
           "{root}/curves/128px {root}/table1/128px --baseline model=fcn --mean-of {ambiguous} --markdown",
           "make curves table1"),)
MULTISCALE_128 = ("128 px scenes: multi-scale + flip against one scale", MULTISCALE % "128px", "make multiscale")
BLOCKS = {
    "headline": (
        ("128 px scenes, after 24 epochs (final weights)", CURVES % "128px", "make curves"),
        ("384 px scenes, after 24 epochs (final weights)", CURVES % "384px", "make curves"),
        *TABLE1,
        MULTISCALE_128,
        *FIGURE5_ITEMS,
    ),
    "curves": (
        ("128 px scenes, after 6 epochs", CURVES % "128px" + " --epoch 6", "make curves"),
        ("128 px scenes, after 12 epochs", CURVES % "128px" + " --epoch 12", "make curves"),
        ("128 px scenes, after 24 epochs (final weights)", CURVES % "128px", "make curves"),
        ("384 px scenes, after 6 epochs", CURVES % "384px" + " --epoch 6", "make curves"),
        ("384 px scenes, after 12 epochs", CURVES % "384px" + " --epoch 12", "make curves"),
        ("384 px scenes, after 24 epochs (final weights)", CURVES % "384px", "make curves"),
    ),
    "pilot": (
        ("384 px scenes, 48 epochs (pilot): after 24 epochs", PILOT + " --epoch 24", "make pilot"),
        ("384 px scenes, 48 epochs (pilot): final weights", PILOT, "make pilot"),
    ),
    "table1": (
        *TABLE1,
        ("Table 1's variants against the default EncNet",
         "{root}/curves/128px/encnet {root}/table1/128px --baseline model=encnet --mean-of {ambiguous} --markdown",
         "make curves table1"),
    ),
    "figure5": FIGURE5_ITEMS,
    "multiscale": (
        MULTISCALE_128,
        ("384 px scenes: multi-scale + flip against one scale", MULTISCALE % "384px", "make multiscale"),
        ("The 128 px seed-0 EncNet: which scales and flips make the difference",
         "{root}/multiscale/128px/encnet/s0 {root}/multiscale_probe/128px/encnet/s0 --mean-of {ambiguous} --markdown",
         "make multiscale multiscale-probe"),
    ),
    "stability": (
        ("The default recipe: how far the 128 px curves fall back (24 epochs)",
         "{root}/curves/128px --baseline model=fcn --metric val/mIoU --stability --markdown", "make curves"),
        ("A linear warm-up over the first two epochs against the default recipe",
         STABILITY % ("warmup", "model.warmup_steps"), "make curves stability"),
        ("The heads at the backbone's learning rate against the default 10×",
         STABILITY % ("head_lr1", "model.head_lr_mult"), "make curves stability"),
    ),
}


# the file (relative to the repository) that holds each block
FILES = {name: "README.md" if name == "headline" else "docs/results.md" for name in BLOCKS}


def markers(name: str) -> tuple[str, str]:
    """The lines that open and close block ``name``."""
    return f"<!-- results-tables:{name} -->", f"<!-- /results-tables:{name} -->"


def _argv(template: str, root: Path) -> list[str]:
    return template.format(root=root, ambiguous=" ".join(AMBIGUOUS)).split()


def _roots(argv: list[str]) -> list[Path]:
    """The directories an encnet-results command line reads (the arguments before its first option)."""
    return [Path(a) for a in argv[:next((i for i, a in enumerate(argv) if a.startswith("--")), len(argv))]]


def _has_runs(argv: list[str]) -> bool:
    return all(any(root.rglob("metrics.json")) for root in _roots(argv))


def _without_missing_baseline(argv: list[str]) -> tuple[list[str], str | None]:
    """``argv`` less its ``--baseline KEY=VALUE`` when no run has that configuration yet (one model of a pair
    has finished), and that baseline (None when it is there or not asked for)."""
    if "--baseline" not in argv or "=" not in argv[argv.index("--baseline") + 1]:
        return argv, None
    at = argv.index("--baseline")
    token = argv[at + 1]
    if any(token in name.split() for name in collect(*_roots(argv))):
        return argv, None
    return argv[:at] + argv[at + 2:], token


def _plot(argv: list[str]) -> tuple[list[str], str | None]:
    """``argv`` without its ``--plot FILE``, and FILE (None for a table)."""
    if "--plot" not in argv:
        return argv, None
    at = argv.index("--plot")
    return argv[:at] + argv[at + 2:], argv[at + 1]


def render(name: str, root: Path = Path("results")) -> str:
    """Block ``name``'s Markdown: per item a heading line with its command, and encnet-results' output (and a
    figure's image), or that it has not run yet."""
    if name not in BLOCKS:
        raise KeyError(f"no results block {name!r}; blocks: {sorted(BLOCKS)}")
    parts = []
    for heading, template, make in BLOCKS[name]:
        argv = _argv(template, root)
        command = f"`encnet-results {template.format(root=root, ambiguous='<ambiguous>')}`"
        if not _has_runs(argv):
            parts.append(f"**{heading}** ({command}): not run yet (`{make}`).\n")
            continue
        table, figure = _plot(argv)
        table, missing = _without_missing_baseline(table)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            results(table)
        image = f"\n\n![{heading}]({os.path.relpath(figure, Path(FILES[name]).parent)})" if figure else ""
        pending = f"\n\nNo `{missing}` run yet, so no paired differences (`{make}`)." if missing else ""
        parts.append(f"**{heading}** ({command}):\n\n{out.getvalue().strip()}{image}{pending}\n")
    return "\n".join(parts)


def draw_figures(root: Path = Path("results")) -> list[str]:
    """Draw every figure whose runs exist (encnet-results --plot), once each (the README shows some of
    docs/results.md's); returns the files written."""
    written = []
    for template in dict.fromkeys(template for items in BLOCKS.values() for _, template, _ in items):
        argv = _argv(template, root)
        figure = _plot(argv)[1]
        if figure and _has_runs(argv):
            with contextlib.redirect_stdout(io.StringIO()):
                results(argv)
            written.append(figure)
    return written


def block(path: Path, name: str) -> str:
    """The text between block ``name``'s markers in ``path`` (one error naming the file when they are missing)."""
    begin, end = markers(name)
    text = path.read_text()
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise ValueError(f"{path} must hold one {begin} … {end} block")
    return text[text.index(begin) + len(begin):text.index(end)].strip("\n")


def write_blocks(repo: Path, root: Path = Path("results")) -> None:
    """Replace every block in its file under ``repo`` by :func:`render` of ``root`` (all markers checked first)."""
    for name, file in FILES.items():
        block(repo / file, name)  # the markers are there, once
    for name, file in FILES.items():
        path, (begin, end) = repo / file, markers(name)
        text = path.read_text()
        start, stop = text.index(begin) + len(begin), text.index(end)
        path.write_text(text[:start] + "\n" + render(name, root).strip("\n") + "\n" + text[stop:])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, nargs="?", default=Path("results"))
    parser.add_argument("--write", type=Path, metavar="REPO", help="update the blocks in REPO's README.md and "
                        "docs/results.md and draw the figures, instead of printing the blocks")
    parser.add_argument("--plots", action="store_true", help="only draw the figures whose runs exist")
    args = parser.parse_args(argv)
    if args.write or args.plots:
        for figure in draw_figures(args.root):
            print(f"figure written to {figure}")
        if args.write:
            write_blocks(args.write, args.root)
        return
    for name in BLOCKS:
        begin, end = markers(name)
        sys.stdout.write(f"{FILES[name]}:\n{begin}\n{render(name, args.root).strip()}\n{end}\n\n")


if __name__ == "__main__":
    main()
