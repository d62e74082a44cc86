"""A wheelhouse: every wheel encnet needs on a target machine (Python version, platform), for an install
with no network there (`make install WHEELHOUSE=DIR`, or `pip install --no-index --no-deps --target`).

Left out: torch and triton (the target's own builds are kept) and what the target already has (``--have``,
a `pip freeze` of it; bare names are accepted too). Each of these with a version enters the resolution as
an empty stand-in wheel of that version, so pip picks the versions of the rest that fit it and leaves out
what only it needs; where another package asks for an extra of it (``fsspec[http]``), the stand-in
declares what that extra adds (read from the index's metadata of the real one), so that comes along. Dependencies
published as source only (``offline/sdist-only.txt``) are built here
into wheels, which must be pure Python. pip evaluates environment markers against this interpreter, so a
backport that only an older Python needs may be included for a newer target: harmless, never missing.

    python offline/wheelhouse.py DIR [--python-version 3.12] [--platform manylinux_2_28_x86_64]
                                     [--have FREEZE] [--extras wandb,...]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
SDIST_ONLY = Path(__file__).resolve().parent / "sdist-only.txt"
ALWAYS_PROVIDED = ("torch", "triton")
EDITABLE_BUILD = ["editables"]  # what hatchling asks for to build an editable install (`pip install -e .`)
STAND_IN = "provided"  # the local version label of the stand-in wheels
MANIFEST = "manifest.txt"  # in the wheelhouse: the command, then each wheel and its size in bytes


def project_requirements(extras: list[str], pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """encnet's dependencies, those of ``extras`` (nested ``encnet[...]`` expanded), and its build backend."""
    meta = tomllib.loads(pyproject.read_text())
    project, optional = meta["project"], meta["project"].get("optional-dependencies", {})
    requirements, todo, seen = list(project["dependencies"]), list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        if extra not in optional:
            raise SystemExit(f"--extras: encnet has no extra {extra!r} (it has: {', '.join(optional)})")
        seen.add(extra)
        for line in optional[extra]:
            req = Requirement(line)
            if canonicalize_name(req.name) == canonicalize_name(project["name"]):
                todo.extend(req.extras)
            else:
                requirements.append(line)
    return requirements + meta["build-system"]["requires"] + EDITABLE_BUILD


def read_have(path: Path | None) -> dict[str, str | None]:
    """A `pip freeze` (``name==version``, ``name @ url``) or a list of names → {name: version or None}. Local
    version labels (``2.11.0+cu130``) are dropped: the public release is what the resolution needs."""
    have: dict[str, str | None] = {}
    for number, raw in enumerate(path.read_text().splitlines() if path else [], 1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:==\s*([^\s;]+)|@.*)?", line)
        if match is None:
            raise SystemExit(f"--have {path}, line {number}: {raw!r} is neither name==version nor a name")
        name, version = match.groups()
        have[canonicalize_name(name)] = version.split("+")[0] if version else None
    return have


def stand_in(directory: Path, name: str, version: str, extras: dict[str, list[str]] | None = None) -> str:
    """Write an empty wheel ``name==version+provided`` (no files; no dependencies but those of ``extras``,
    {extra: its Requires-Dist lines}); returns its constraint."""
    local = f"{version}+{STAND_IN}"
    dist = f"{name.replace('-', '_')}-{local}"
    declared = "".join(f"Provides-Extra: {extra}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
                       for extra, requires in (extras or {}).items())
    with zipfile.ZipFile(directory / f"{dist}-py3-none-any.whl", "w") as whl:
        info = f"{dist}.dist-info"
        whl.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {local}\n{declared}")
        whl.writestr(f"{info}/WHEEL",
                     "Wheel-Version: 1.0\nGenerator: encnet\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        whl.writestr(f"{info}/RECORD", "")
    return f"{name}=={local}"


def platform_tags(platform: str) -> list[str]:
    """``manylinux_2_28_x86_64`` → that tag and every older manylinux tag of the arch (pip matches each
    ``--platform`` exactly); any other platform as given."""
    match = re.fullmatch(r"manylinux_2_(\d+)_(\w+)", platform)
    if match is None:
        return [platform]
    newest, arch = int(match[1]), match[2]
    legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
    tags = []
    for minor in range(newest, 4, -1):
        tags.append(f"manylinux_2_{minor}_{arch}")
        if minor in legacy:
            tags.append(f"{legacy[minor]}_{arch}")
    return tags


def pip(*args: str) -> None:
    """Run pip; its notices about this machine's empty local indexes and about the extras of stand-ins
    (added in the next round) are dropped, the rest is shown."""
    proc = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)
    for line in (proc.stdout + proc.stderr).splitlines():
        if not re.search(rf"it is neither a file nor a directory|\+{STAND_IN} does not provide the extra", line):
            print(line, file=sys.stderr if proc.returncode else sys.stdout)
    if proc.returncode:
        raise SystemExit(f"pip {args[0]} failed (exit {proc.returncode}); a dependency with no wheel for the "
                         f"target that is pure Python can be listed in {SDIST_ONLY.relative_to(ROOT)}")


def build_sdist_only(directory: Path) -> None:
    """Build the pure-Python wheels of ``offline/sdist-only.txt`` into ``directory``."""
    lines = [line.split("#", 1)[0].strip() for line in SDIST_ONLY.read_text().splitlines()]
    requirements = [line for line in lines if line]
    if requirements:
        pip("wheel", "--quiet", "--no-deps", "--no-binary", ":all:", "--wheel-dir", str(directory), *requirements)
    for whl in directory.glob("*.whl"):
        if not whl.name.endswith("-none-any.whl"):
            raise SystemExit(f"{SDIST_ONLY.relative_to(ROOT)}: {whl.name} is not pure Python; build it on the target")


def extras_asked(wheels: list[Path], provided: dict[str, str]) -> dict[str, set[str]]:
    """{provided package: the extras of it that ``wheels`` require} (markers as on this interpreter)."""
    asked: dict[str, set[str]] = {}
    for whl in wheels:
        with zipfile.ZipFile(whl) as z:
            metadata = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
        for line in metadata.splitlines():
            if not line.startswith("Requires-Dist:"):
                continue
            req = Requirement(line.split(":", 1)[1].strip())
            name = canonicalize_name(req.name)
            if name in provided and req.extras and (req.marker is None or req.marker.evaluate({"extra": ""})):
                asked.setdefault(name, set()).update(req.extras)
    return asked


def extra_requirements(name: str, version: str, extras: set[str], target: list[str]) -> dict[str, list[str]]:
    """{extra: the Requires-Dist lines that only it adds} of the real ``name==version``, from the index's
    metadata (pip's resolution report; nothing is installed)."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        pip("install", "--quiet", "--dry-run", "--no-deps", "--ignore-installed", "--target", str(Path(tmp) / "t"),
            *target, "--report", str(report), f"{name}=={version}")
        (item,) = json.loads(report.read_text())["install"]
    requires = [Requirement(r) for r in item["metadata"].get("requires_dist", [])]
    return {extra: [str(r) for r in requires if r.marker is not None and r.marker.evaluate({"extra": extra})
                    and not r.marker.evaluate({"extra": ""})] for extra in sorted(extras)}


def build(out: Path, python_version: str | None, platform: str | None, have: dict[str, str | None],
          extras_of_encnet: list[str]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.whl"):  # one version of each package: pip refuses two at install
        old.unlink()
    provided = dict.fromkeys(ALWAYS_PROVIDED) | have
    for name in ALWAYS_PROVIDED:  # the version this machine has, when the target's is not given
        if provided[name] is None:
            try:
                provided[name] = importlib.metadata.version(name).split("+")[0]
            except importlib.metadata.PackageNotFoundError:
                pass
    target = ["--only-binary", ":all:"]
    if python_version:
        target += ["--python-version", python_version, "--implementation", "cp"]
    for tag in platform_tags(platform) if platform else []:
        target += ["--platform", tag]
    pinned = {name: version for name, version in provided.items() if version}
    requirements = []
    for line in project_requirements(extras_of_encnet):  # the target's own torch is what it is
        req = Requirement(line)
        name = canonicalize_name(req.name)
        if name not in pinned:
            requirements.append(line)
        elif not req.specifier.contains(pinned[name], prereleases=True):
            print(f"note: the target's {name} {pinned[name]} is outside encnet's {req}: `pip install` of encnet "
                  "refuses it there; running the checkout with src/ on PYTHONPATH does not check", file=sys.stderr)
    extras: dict[str, dict[str, list[str]]] = {}  # stand-in → {extra: Requires-Dist}
    with tempfile.TemporaryDirectory() as tmp:
        links = Path(tmp)
        build_sdist_only(links)
        for _ in range(3):  # each round adds the extras asked of stand-ins that the last one downloaded
            constraints = links / "constraints.txt"
            constraints.write_text("".join(stand_in(links, name, version, extras.get(name)) + "\n"
                                           for name, version in pinned.items()))
            pip("download", "--quiet", *target, "--find-links", str(links), "--constraint", str(constraints),
                "--dest", str(out), *requirements)
            for whl in out.glob(f"*+{STAND_IN}-*.whl"):  # never reused by the next round
                whl.unlink()
            asked = extras_asked(sorted(out.glob("*.whl")), pinned)
            new = {name: wanted - extras.get(name, {}).keys() for name, wanted in asked.items()}
            if not any(new.values()):
                break
            for name, wanted in new.items():
                extras[name] = extras.get(name, {}) | extra_requirements(name, pinned[name], wanted, target)
    for whl in out.glob("*.whl"):
        if canonicalize_name(whl.name.split("-")[0]) in provided:
            whl.unlink()
    return sorted(out.glob("*.whl"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dir", type=Path, help="the wheelhouse (its *.whl files are replaced)")
    p.add_argument("--python-version", help="target Python, e.g. 3.12 (default: this interpreter's)")
    p.add_argument("--platform", help="target platform tag, e.g. manylinux_2_28_x86_64 (default: this machine's)")
    p.add_argument("--have", type=Path, help="`pip freeze` of the target: these packages are left out")
    p.add_argument("--extras", default="", help="encnet extras to include, comma-separated (e.g. wandb)")
    args = p.parse_args()
    if args.have is not None and not args.have.is_file():
        p.error(f"--have {args.have}: no such file")
    extras = [e for e in args.extras.split(",") if e]
    wheels = build(args.dir, args.python_version, args.platform, read_have(args.have), extras)
    size = sum(w.stat().st_size for w in wheels)
    summary = f"{len(wheels)} wheels, {size / 1e6:.1f} MB"
    command = " ".join(sys.argv[1:])
    (args.dir / MANIFEST).write_text(f"# offline/wheelhouse.py {command}\n# {summary}\n"
                                     + "".join(f"{w.name} {w.stat().st_size}\n" for w in wheels))
    print(f"{args.dir}: {summary} (list: {args.dir / MANIFEST})")


if __name__ == "__main__":
    main()
