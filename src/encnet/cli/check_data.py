"""``encnet-check-data`` (``python -m encnet.cli.check_data``): compose → ``run(cfg)``: read every file once →
report.

    encnet-check-data data=folder data.root=/data/mine
    encnet-check-data data=ade20k data.root=/data/ADEChallengeData2016 workers=8 --show 16 samples/

Reads every image and mask of the train, val and test splits of the config in ``workers`` processes
(:mod:`encnet.data.survey`), prints per split the image count, size range, per-class pixel share and image
count, the classes that never occur and the images without a labelled pixel, and writes the same as JSON
(``json=``). Every bad file is listed, and then the exit status is 1. ``--show N DIR`` (``show=N show_dir=DIR``)
writes N training samples after the training augmentation as PNGs: image | mask over it, with a legend.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import hydra
import rich
import rich.table
from hydra.utils import instantiate
from omegaconf import DictConfig

from encnet.cli.runner import start
from encnet.data.datamodule import SegmentationDataModule
from encnet.data.survey import first_line, survey_split, write_samples
from encnet.data.visualize import colour_table
from encnet.infra.config import CONFIG_DIR
from encnet.infra.outputs import write_text


class BadDataError(RuntimeError):
    """Some files of the dataset are bad: every one of them, one line each."""


def splits_of(datamodule: SegmentationDataModule) -> list[str]:
    hp = datamodule.hparams
    return list(dict.fromkeys((hp.train_split, hp.val_split, hp.test_split)))


def run(cfg: DictConfig) -> dict[str, Any]:
    """Survey every split of ``cfg.data``; write the JSON (and the samples); return the report (bad files are
    listed in it; :func:`require_good` makes them an error)."""
    start(cfg, order=("data",))
    datamodule = instantiate(cfg.data)
    if not isinstance(datamodule, SegmentationDataModule):
        raise TypeError(f"encnet-check-data checks segmentation datasets; data={cfg.data._target_} is not one")
    datamodule.prepare_data()  # a generated dataset is written first
    names = datamodule.class_names
    report: dict[str, Any] = {"root": str(datamodule.root), "classes": names, "splits": {}}
    bad: list[str] = []
    for split in splits_of(datamodule):
        try:
            dataset = datamodule.dataset(split, verify=False, skip_unpaired=True)
        except (ValueError, OSError) as err:  # no such split, no directory, an empty list
            bad.append(first_line(err))
            continue
        summary = survey_split(dataset, names, cfg.workers, cfg.progress)
        report["splits"][split] = summary
        bad += summary["bad_files"]
        print_split(summary)
    report["bad_files"] = list(dict.fromkeys(bad))  # a split used twice names its files once
    if cfg.show:
        dataset = datamodule.dataset(datamodule.hparams.train_split, datamodule.train_transform(), verify=False)
        hp = datamodule.hparams
        report["samples"] = [str(p) for p in write_samples(dataset, cfg.show, cfg.show_dir, names,
                                                            colour_table(datamodule.class_colours), hp.mean, hp.std,
                                                            cfg.seed)]
        rich.print(f"{cfg.show} augmented training samples written to {cfg.show_dir}")
    write_text(Path(cfg.json), json.dumps(report, indent=2) + "\n")
    rich.print(f"report written to {cfg.json}")
    return report


def print_split(summary: dict[str, Any]) -> None:
    """The per-class table of one split and its one-line findings."""
    console = rich.get_console()
    sizes = (f", height {'–'.join(map(str, summary['height']))}, width {'–'.join(map(str, summary['width']))}"
             if summary["read"] else "")
    console.print(f"[bold]{summary['split']}[/bold]: {summary['images']} images ({summary['read']} read){sizes}")
    table = rich.table.Table()
    table.add_column("class")
    table.add_column("pixels", justify="right")
    table.add_column("images", justify="right")
    for name, stats in summary["classes"].items():
        table.add_row(name, f"{100 * stats['pixel_share']:.2f}%", str(stats["images"]))
    console.print(table)
    if summary["missing_classes"]:
        console.print(f"classes missing from {summary['split']}: {', '.join(summary['missing_classes'])}")
    if summary["unlabelled_images"]:
        console.print(f"{len(summary['unlabelled_images'])} image(s) without a labelled pixel: "
                      + ", ".join(summary["unlabelled_images"]))


def require_good(report: dict[str, Any], path: str) -> None:
    """Raise :class:`BadDataError` listing every bad file of ``report`` (whose JSON is at ``path``), if any."""
    if report["bad_files"]:
        lines = "\n".join(f"  {line}" for line in report["bad_files"])
        raise BadDataError(f"{len(report['bad_files'])} bad file(s) (report in {path}):\n{lines}")


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="check_data")
def app(cfg: DictConfig) -> None:
    """Hydra app: the exit status is 1 when a file is bad (:class:`BadDataError`)."""
    require_good(run(cfg), cfg.json)


def hydra_arguments(argv: list[str]) -> list[str]:
    """``--show N DIR`` → ``show=N show_dir=DIR`` (Hydra takes overrides only); the rest unchanged."""
    if "--show" not in argv:
        return argv
    at = argv.index("--show")
    if len(argv) < at + 3:
        raise SystemExit("encnet-check-data: --show takes a count and a directory: --show 8 samples/")
    return [*argv[:at], f"show={argv[at + 1]}", f"show_dir={argv[at + 2]}", *argv[at + 3 :]]


def main() -> None:
    sys.argv = [sys.argv[0], *hydra_arguments(sys.argv[1:])]
    app()


if __name__ == "__main__":
    main()
