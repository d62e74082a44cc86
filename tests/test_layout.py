"""The package's layers, read from the source: no module at the root but ``__init__``, each package importing
only the layers below it (lazy imports inside functions included), every console script in ``encnet.cli``, and
every Hydra app with an in-process ``run(cfg)``."""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "src" / "encnet"

# package → the encnet packages it may import (besides itself): each layer only what lies below it
ALLOWED = {
    "infra": set(),
    "nn": set(),
    "models": {"nn", "infra"},
    "data": {"infra"},
    "inference": {"data", "infra"},
    "tasks": {"nn", "models", "data", "inference", "infra"},
    "callbacks": {"data", "infra"},
    "zoo": {"tasks", "models", "nn", "infra"},
    "study": set(),
    "cli": {"infra", "nn", "models", "data", "inference", "tasks", "callbacks", "zoo", "study"},
}


def encnet_imports(path: Path) -> set[str]:
    """The encnet packages (second name component) that the module at ``path`` imports anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        modules = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        found |= {m.split(".")[1] for m in modules if m.startswith("encnet.")}
    return found


def test_the_root_holds_only_packages():
    assert sorted(p.name for p in PACKAGE.glob("*.py")) == ["__init__.py"]
    assert {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()} == set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package):
    wrong = {str(p.relative_to(PACKAGE)): sorted(encnet_imports(p) - ALLOWED[package] - {package})
             for p in (PACKAGE / package).rglob("*.py")}
    assert not {k: v for k, v in wrong.items() if v}


def test_the_layers_checked_are_the_real_imports():  # the scan sees a lazy import inside a function
    assert "tasks" in encnet_imports(PACKAGE / "__init__.py")
    assert "infra" in encnet_imports(PACKAGE / "tasks" / "loading.py")


def scripts() -> dict[str, str]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def test_every_console_script_lives_in_cli():
    assert scripts() and all(target.startswith("encnet.cli.") for target in scripts().values())


@pytest.mark.parametrize("name", ["train", "evaluate", "predict", "export", "check_data"])
def test_every_hydra_app_has_an_in_process_run(name):
    module = importlib.import_module(f"encnet.cli.{name}")
    assert callable(module.run) and list(module.run.__annotations__) == ["cfg", "return"]
    assert "run(cfg)" in module.__doc__.splitlines()[0]


def test_no_two_modules_differ_by_a_suffix():  # no `predict` beside `predict_app`, `encoding` beside `encoding_x`
    names = {p.stem for p in PACKAGE.rglob("*.py") if p.stem != "__init__"}
    assert not sorted((a, b) for a in names for b in names if b.startswith(a + "_"))
