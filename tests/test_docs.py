"""The documentation holds together: every relative link and image in the Markdown files exists, and the
README's annotated project tree names every package of ``src/encnet`` and nothing that is not there."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
MARKDOWN = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def relative_links(path: Path) -> list[str]:
    """The relative targets of ``path``'s Markdown links and images (code blocks and URLs left out)."""
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)
    return [t for t in LINK.findall(text) if not re.match(r"[a-z]+:|#", t)]


def test_the_docs_have_pages():
    assert len(MARKDOWN) > 10 and (ROOT / "docs" / "README.md") in MARKDOWN


@pytest.mark.parametrize("path", MARKDOWN, ids=[str(p.relative_to(ROOT)) for p in MARKDOWN])
def test_every_relative_link_exists(path):
    missing = [t for t in relative_links(path) if not (path.parent / t.split("#")[0]).exists()]
    assert not missing, f"{path.relative_to(ROOT)} links to missing files: {missing}"


def test_every_page_is_in_the_index():
    index = relative_links(ROOT / "docs" / "README.md")
    assert {p.name for p in MARKDOWN[1:] if p.name != "README.md"} <= set(index)


def tree_packages() -> set[str]:
    """The ``src/encnet`` packages the README's ``<!-- tree -->`` block names (``├── cli/`` …)."""
    text = (ROOT / "README.md").read_text()
    tree = text[text.index("<!-- tree -->"):text.index("<!-- /tree -->")]
    return set(re.findall(r"[├└]── (\w+)/", tree))


def test_the_tree_names_every_package_and_only_those():
    packages = {p.parent.name for p in (ROOT / "src" / "encnet").glob("*/__init__.py")}
    assert tree_packages() == packages


def test_every_module_sits_in_a_package_the_tree_names():
    named = tree_packages()
    package = ROOT / "src" / "encnet"
    homeless = [str(p.relative_to(package)) for p in package.rglob("*.py")
                if p.parent != package and p.relative_to(package).parts[0] not in named]
    assert not homeless and named
