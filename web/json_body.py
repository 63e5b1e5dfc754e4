"""JSON from clients, parsed with a nesting limit.

``json.loads`` recurses once per ``[``/``{``: a body of 100,000 brackets raises
``RecursionError`` (a 500 over HTTP, a dead websocket handler). Nothing we accept
nests deeper than a few levels, so the depth is checked first with a linear scan.
"""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 32


class JsonError(ValueError):
    """Not JSON, not UTF-8, or nested deeper than :data:`MAX_JSON_DEPTH`; the message says which."""


def json_depth(text: str) -> int:
    """Deepest ``[``/``{`` nesting outside strings (malformed input gives a number, never an error)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def loads(raw: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parsed JSON, or :class:`JsonError` naming what is wrong."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        raise JsonError(f"not UTF-8 ({error})") from error
    brackets = text.count("[") + text.count("{")  # C speed: most bodies skip the Python scan
    if brackets > max_depth and json_depth(text) > max_depth:
        raise JsonError(f"nested deeper than {max_depth} levels")
    try:
        return json.loads(text)
    except ValueError as error:
        raise JsonError(str(error)) from error
