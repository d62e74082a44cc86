"""requirements-lock.txt: the exact versions `make install` pins on a fresh CPU venv (the training numbers depend
on them), admitted by pyproject's requirements, and the ones this venv holds where it was installed that way."""

from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import load_script

ROOT = Path(__file__).resolve().parents[1]
wheelhouse = load_script(ROOT / "offline" / "wheelhouse.py")


def _lock() -> dict[str, str]:
    pins = {}
    for number, line in enumerate((ROOT / "requirements-lock.txt").read_text().splitlines(), 1):
        if line and not line.startswith("#"):
            match = re.fullmatch(r"([A-Za-z0-9._-]+)==([A-Za-z0-9.+!-]+)", line)
            assert match, f"requirements-lock.txt, line {number}: {line!r} is not NAME==VERSION"
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def test_the_lock_pins_every_requirement_at_an_admitted_version():
    pins = _lock()
    assert not {"torch", "triton", "encnet", "pip", "setuptools"} & pins.keys()  # a CUDA torch brings its own
    for text in wheelhouse.project_requirements(["dev"]):
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name in {"torch", "triton", "encnet", "hatchling", "editables"} or (
                requirement.marker and not requirement.marker.evaluate()):
            continue
        assert name in pins, f"requirements-lock.txt has no pin for {requirement.name} (run make lock)"
        assert requirement.specifier.contains(Version(pins[name]), prereleases=True), (
            f"requirements-lock.txt pins {name}=={pins[name]}, which {text!r} does not admit (run make lock)")


@pytest.mark.skipif(not (Path(sys.prefix) / ".locked").exists(),
                    reason="this venv keeps another environment's packages (make install pins a fresh CPU venv only)")
def test_this_venv_holds_the_locked_versions():
    wrong = {name: (version, metadata.version(name)) for name, version in _lock().items()
             if metadata.version(name) != version}
    assert not wrong, f"installed versions differ from requirements-lock.txt (name: (lock, installed)): {wrong}"
