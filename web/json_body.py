"""JSON from clients, parsed by pydantic_core with its nesting limit.

``json.loads`` recurses once per ``[``/``{``: a body of 100,000 brackets raises
``RecursionError`` (a 500 over HTTP, a dead websocket handler). pydantic_core's parser
(Rust) refuses JSON nested deeper than about 200 levels with an error instead, and
builds the result without Python recursion. Nothing we accept nests deeper than a few
levels.
"""

from __future__ import annotations

from typing import Any

import pydantic_core


class JsonError(ValueError):
    """Not JSON, not UTF-8, or nested too deeply; the message says which."""


def loads(raw: str | bytes) -> Any:
    """Parsed JSON, or :class:`JsonError` naming what is wrong."""
    if isinstance(raw, bytes):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise JsonError(f"not UTF-8 ({error})") from error
    try:
        return pydantic_core.from_json(raw)
    except ValueError as error:
        if "recursion limit" in str(error):
            raise JsonError("nested more than 200 levels deep") from error
        raise JsonError(str(error)) from error
