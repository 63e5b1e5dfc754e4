"""The import graph between rooms stays as the README's layout draws it.

Read statically (every ``import`` in every module, also those inside functions and under
``TYPE_CHECKING``), so a lazy import cannot hide an arrow. ``from package import module``
counts as an arrow to the module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("kernel", "inference", "stream", "web", "producers", "dashboards", "reviewpulse")
#: Rooms, each a package or a sub-package with one job; a module belongs to the longest room that holds it.
ROOMS = ("kernel", "inference", "inference.training", "stream", "stream.storage", "stream.registry", "stream.worker",
         "stream.learning", "web", "producers", "dashboards", "reviewpulse")
#: room -> the other rooms it imports, exactly (an arrow nothing uses is an error too).
ALLOWED = {
    "kernel": set(),
    "inference": {"kernel"},
    "inference.training": {"inference"},
    "stream": set(),  # the package's docstring only: its four sub-packages are the rooms
    "stream.storage": {"kernel", "inference"},
    "stream.registry": {"kernel", "inference", "stream.storage"},
    "stream.worker": {"kernel", "inference", "stream.storage", "stream.registry"},
    "stream.learning": {"kernel", "inference", "inference.training", "stream.storage", "stream.registry"},
    "web": {"kernel", "stream.storage", "stream.registry"},
    "producers": {"kernel"},
    # the Brand dashboard and the admin's brand page run one method (stream/storage/brand_story.py,
    # brand_words.py); the alerts read their figures from stream/storage/alerts.py
    "dashboards": {"kernel", "stream.storage"},
    # the composition root builds every room; nothing imports it
    "reviewpulse": {"kernel", "inference", "inference.training", "stream.storage", "stream.registry",
                    "stream.worker", "stream.learning", "web", "producers", "dashboards"},
}


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")


def is_module(name: str) -> bool:
    path = REPO.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path) -> Iterator[str]:
    """Every project module ``path`` imports (``from package import module`` as the module)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            found = [name for name in submodules if is_module(name)]
            yield from found
            if len(found) < len(submodules):
                yield node.module


def room_of(module: str) -> str | None:
    matching = [room for room in ROOMS if module == room or module.startswith(room + ".")]
    return max(matching, key=len) if matching else None


def project_modules() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))}


def graph() -> dict[str, set[str]]:
    """module -> the project modules it imports."""
    modules = project_modules()
    return {name: {target for target in imports(path) if target.split(".")[0] in PACKAGES}
            for name, path in modules.items()}


def room_arrows() -> dict[tuple[str, str], list[str]]:
    """(from room, to room) -> the modules that make the arrow."""
    arrows: dict[tuple[str, str], list[str]] = {}
    for module, targets in graph().items():
        source = room_of(module)
        for target in targets:
            destination = room_of(target)
            if source and destination and source != destination:
                arrows.setdefault((source, destination), []).append(f"{module} -> {target}")
    return arrows


def test_every_module_belongs_to_a_room() -> None:
    assert not [name for name in project_modules() if room_of(name) is None]


@pytest.mark.parametrize("room", ROOMS)
def test_each_room_imports_exactly_the_rooms_its_rule_allows(room: str) -> None:
    used = {to: where for (source, to), where in room_arrows().items() if source == room}
    wrong = {to: where for to, where in used.items() if to not in ALLOWED[room]}
    assert not wrong, f"{room} imports what it must not (the root builds and hands such parts in): {wrong}"
    unused = ALLOWED[room] - set(used)
    assert not unused, f"{room} is allowed {sorted(unused)} but imports none of it: tighten ALLOWED"


def test_nothing_imports_the_composition_root() -> None:
    assert not [where for (source, to), where in room_arrows().items() if to == "reviewpulse"]


def test_no_import_circle_between_modules() -> None:
    """Tarjan's strongly connected components over every import, lazy ones included."""
    edges = graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    assert not circles, f"import circles: {circles}"
