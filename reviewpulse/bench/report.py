"""How every benchmark prints its figures: one JSON object for machines, aligned lines or a table for people.

Benchmarks return plain dicts (JSON-ready); only this module decides how they look, so
``--json`` means the same everywhere and a ratio table reads the same in every room.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import typer


@dataclass(frozen=True)
class Column:
    """One table column: the row key, its title, and a format spec for the value (``".1f"``)."""

    key: str
    title: str
    spec: str = ""


def ratio(value: float, baseline: float, digits: int = 2) -> float:
    """``value / baseline`` rounded: every benchmark states its gain against a baseline of the same run."""
    return round(value / baseline, digits)


def key_values(figures: Mapping[str, Any]) -> str:
    """One ``name  value`` line per figure, names aligned."""
    width = max((len(name) for name in figures), default=0)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in figures.items())


def table(columns: Sequence[Column], rows: Sequence[Mapping[str, Any]], markdown: bool = False) -> str:
    """Rows under titled columns: the first left-aligned, the rest right-aligned (markdown: a README table)."""
    cells = [[column.title for column in columns]]
    cells += [[format(row[column.key], column.spec) for column in columns] for row in rows]
    if markdown:
        rule = ["---"] + ["---:"] * (len(columns) - 1)
        return "\n".join("| " + " | ".join(line) + " |" for line in [cells[0], rule, *cells[1:]])
    widths = [max(len(line[index]) for line in cells) for index in range(len(columns))]
    return "\n".join(
        "  " + "  ".join(cell.ljust(w) if index == 0 else cell.rjust(w)
                         for index, (cell, w) in enumerate(zip(line, widths, strict=True)))
        for line in cells
    )


def emit(figures: Mapping[str, Any], as_json: bool, text: Callable[[Any], str] = key_values,
         indent: int | None = None) -> None:
    """Print ``figures`` as one JSON object (``--json``) or through ``text`` for people."""
    typer.echo(json.dumps(figures, indent=indent) if as_json else text(figures))
