"""The import graph between rooms stays as the README's architecture section draws it.

Read statically (every ``import`` in every module, also those inside functions), so a
lazy import cannot hide an arrow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ROOMS = ("inference", "stream", "web", "producers", "dashboards")
KERNEL = {"settings", "logs", "events", "fields", "topics", "runfile", "compat", "clikit"}
#: room -> the rooms it may import (besides the kernel)
ALLOWED = {
    "inference": set(),
    "stream": {"inference"},
    "web": {"stream"},
    "producers": {"stream"},
    "dashboards": {"stream"},
}


def imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def arrows(package: str) -> Iterator[tuple[str, str]]:
    """(module file, imported module) for every import of ``package`` that leaves it."""
    for path in sorted((REPO / package).rglob("*.py")):
        for name in imports(path):
            if name.split(".")[0] in (*ROOMS, "reviewpulse") and name.split(".")[0] != package:
                yield str(path.relative_to(REPO)), name


def kernel_module(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "reviewpulse" and len(parts) > 1 and parts[1] in KERNEL


@pytest.mark.parametrize("room", ROOMS)
def test_rooms_import_only_the_kernel_and_the_rooms_below_them(room: str) -> None:
    wrong = [(where, name) for where, name in arrows(room)
             if not kernel_module(name) and name.split(".")[0] not in ALLOWED[room]]
    assert not wrong, f"{room} imports what it must not (the root builds and hands such parts in): {wrong}"


def test_the_kernel_imports_no_room_and_no_root_module() -> None:
    for module in sorted(KERNEL):
        path = REPO / "reviewpulse" / f"{module}.py"
        assert path.exists(), f"kernel module {path} is missing (update KERNEL and the README)"
        wrong = [name for name in imports(path)
                 if name.split(".")[0] in ROOMS or (name.startswith("reviewpulse.") and not kernel_module(name))]
        assert not wrong, f"reviewpulse/{module}.py is kernel but imports {wrong}"


def test_the_room_graph_has_no_cycle() -> None:
    edges = {room: {name.split(".")[0] for _, name in arrows(room)} & set(ROOMS) for room in ROOMS}
    seen: set[str] = set()

    def visit(room: str, path: tuple[str, ...]) -> None:
        assert room not in path, f"import cycle: {' -> '.join((*path, room))}"
        if room in seen:
            return
        for target in edges[room]:
            visit(target, (*path, room))
        seen.add(room)

    for room in ROOMS:
        visit(room, ())
