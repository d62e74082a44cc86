"""offline/wheelhouse.py without the network: what it reads (pyproject, a host's freeze), the stand-in wheels
and platform tags it hands pip, and the wheelhouse sizes the README quotes (from the committed manifests).
`make offline-check` (CI) builds a real wheelhouse and installs from it with --no-index."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from tests.conftest import load_script

ROOT = Path(__file__).resolve().parents[1]
HOSTS = ROOT / "offline" / "hosts"
wheelhouse = load_script(ROOT / "offline" / "wheelhouse.py")


def test_freeze_versions_without_local_labels_and_bare_names(tmp_path):
    freeze = tmp_path / "freeze.txt"
    freeze.write_text("# a comment\nTorch==2.11.0+cu130\nnumpy == 2.5.2\n-e git+https://x/y#egg=y\n"
                      "rich\nfoo_bar @ file:///tmp/foo_bar-1.0-py3-none-any.whl\n\n")
    assert wheelhouse.read_have(freeze) == {"torch": "2.11.0", "numpy": "2.5.2", "rich": None, "foo-bar": None}
    freeze.write_text("numpy>=2\n")
    with pytest.raises(SystemExit, match=r"freeze.txt, line 1: 'numpy>=2'"):
        wheelhouse.read_have(freeze)


def test_h200_host_list_pins_what_was_read_there():
    have = wheelhouse.read_have(HOSTS / "nvidia-h200.txt")
    assert have["torch"] == "2.11.0" and have["triton"] == "3.6.0" and have["pytorch-lightning"] == "2.6.6"
    assert not {"hydra-core", "omegaconf", "albumentations", "wandb", "pydantic"} & have.keys()


def test_project_requirements_follow_the_extras():
    base = wheelhouse.project_requirements([])
    names = {re.split(r"[<>=!~;\[ ]", r)[0] for r in base}
    assert {"hydra-core", "albumentations", "torch", "hatchling", "editables"} <= names
    assert "wandb" not in names and "triton" not in names
    assert any(r.startswith("wandb") for r in wheelhouse.project_requirements(["wandb"]))
    dev = wheelhouse.project_requirements(["dev"])  # nested encnet[...] extras expanded
    assert any(r.startswith("onnx") for r in dev) and any(r.startswith("wandb") for r in dev)
    with pytest.raises(SystemExit, match="no extra 'wandbb'"):
        wheelhouse.project_requirements(["wandbb"])


def test_stand_in_is_an_empty_wheel_of_that_version(tmp_path):
    constraint = wheelhouse.stand_in(tmp_path, "pytorch-lightning", "2.6.6")
    assert constraint == "pytorch-lightning==2.6.6+provided"
    (whl,) = tmp_path.glob("*.whl")
    assert whl.name == "pytorch_lightning-2.6.6+provided-py3-none-any.whl"
    with zipfile.ZipFile(whl) as z:
        metadata = z.read("pytorch_lightning-2.6.6+provided.dist-info/METADATA").decode()
        assert all(name.endswith((".dist-info/METADATA", ".dist-info/WHEEL", ".dist-info/RECORD"))
                   for name in z.namelist())
    assert "Version: 2.6.6+provided" in metadata and "Requires-Dist" not in metadata


def test_platform_tags_cover_every_older_manylinux():
    tags = wheelhouse.platform_tags("manylinux_2_28_x86_64")
    assert tags[0] == "manylinux_2_28_x86_64" and tags[-1] == "manylinux1_x86_64"
    assert {"manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux2010_x86_64"} <= set(tags)
    assert wheelhouse.platform_tags("macosx_14_0_arm64") == ["macosx_14_0_arm64"]


@pytest.mark.parametrize("manifest", ["nvidia-h200.manifest.txt", "nvidia-h200-wandb.manifest.txt"])
def test_readme_quotes_the_measured_wheelhouse(manifest):
    lines = (HOSTS / manifest).read_text().splitlines()
    wheels = [line.split() for line in lines if not line.startswith("#")]
    summary = f"{len(wheels)} wheels, {sum(int(size) for _, size in wheels) / 1e6:.1f} MB"
    assert lines[1] == f"# {summary}"
    assert "--python-version 3.12" in lines[0] and "--have offline/hosts/nvidia-h200.txt" in lines[0]
    readme = (ROOT / "docs" / "installation.md").read_text()
    assert f"**{summary}**" in readme and f"`offline/hosts/{manifest}`" in readme


def test_extras_asked_of_a_stand_in_are_declared_by_it(tmp_path):
    asker = tmp_path / "pytorch_lightning-2.6.6-py3-none-any.whl"
    with zipfile.ZipFile(asker, "w") as z:
        z.writestr("pytorch_lightning-2.6.6.dist-info/METADATA", "Name: pytorch-lightning\nVersion: 2.6.6\n"
                   "Requires-Dist: fsspec[http]>=2022.5.0\nRequires-Dist: torch>=2.1\n"
                   'Requires-Dist: fsspec[s3]; extra == "cloud"\n')
    asked = wheelhouse.extras_asked([asker], {"fsspec": "2026.9.0", "torch": "2.11.0"})
    assert asked == {"fsspec": {"http"}}  # not s3: only pytorch-lightning's own extra "cloud" asks for it
    links = tmp_path / "links"
    links.mkdir()
    wheelhouse.stand_in(links, "fsspec", "2026.9.0", {"http": ['aiohttp!=4.0.0a0; extra == "http"']})
    with zipfile.ZipFile(next(links.glob("*.whl"))) as z:
        metadata = z.read("fsspec-2026.9.0+provided.dist-info/METADATA").decode()
    assert metadata.endswith('Provides-Extra: http\nRequires-Dist: aiohttp!=4.0.0a0; extra == "http"\n')
