"""Every console script of pyproject.toml's [project.scripts] names an importable module and a callable in it."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest's own dependency
    import tomli as tomllib

SCRIPTS = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())["project"]["scripts"]


def test_scripts_are_declared():
    assert SCRIPTS and all(name.startswith("encnet-") for name in SCRIPTS)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_console_script_loads(name):
    module, _, attr = SCRIPTS[name].partition(":")
    assert attr, f"{name} = {SCRIPTS[name]!r}: no function named"
    target = importlib.import_module(module)
    for part in attr.split("."):
        target = getattr(target, part)
    assert callable(target), f"{name} = {SCRIPTS[name]!r} is not callable"
