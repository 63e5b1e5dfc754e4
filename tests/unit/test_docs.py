"""The README stays short, its layout names every package, and no link in the docs is broken."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
PRODUCT = ("kernel", "reviewpulse", "inference", "stream", "web", "producers", "dashboards")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def markdown_files() -> list[Path]:
    return [README, *sorted((REPO / "docs").glob("*.md")),
            *sorted(path for package in (*PRODUCT, "deploy", "tests") for path in (REPO / package).rglob("README.md"))]


def anchors(path: Path) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces as dashes."""
    headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


def layout_block() -> str:
    text = README.read_text(encoding="utf-8")
    return text.split("### Layout", 1)[1].split("```")[1]


def test_the_readme_reads_in_ten_minutes() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 250, "long material belongs in docs/"


@pytest.mark.parametrize("package", sorted(
    str(init.parent.relative_to(REPO)) for name in PRODUCT for init in (REPO / name).rglob("__init__.py")
    if len(init.parent.relative_to(REPO).parts) <= 2))
def test_the_layout_names_every_package(package: str) -> None:
    parts = package.split("/")
    block = layout_block()
    if len(parts) == 1:
        assert re.search(rf"^{parts[0]}/", block, flags=re.MULTILINE), f"{package}/ is missing from the README layout"
    else:
        section = block.split(f"\n{parts[0]}/", 1)[1].split("\n", 1)[1]
        section = re.split(r"\n\S", section, maxsplit=1)[0]  # the lines indented under it
        assert f"  {parts[1]}/" in section, f"{package}/ is missing under {parts[0]}/ in the README layout"


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(path: Path) -> None:
    broken = []
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(target)
    assert not broken, f"{path.relative_to(REPO)}: broken links {broken}"
