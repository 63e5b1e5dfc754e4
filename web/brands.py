"""Brands for the review page: the bundled catalogue that seeds ClickHouse, and the card shown.

The crawler fills the ``brands`` table; until it has run, the ~30 fictional brands
in ``catalogue.json`` (no logos: the page draws an initials avatar, so nothing is
fetched from outside) give the page something to review.
"""

from __future__ import annotations

import hashlib
import json
import logging
from importlib import resources
from typing import Any

from kernel.events import Brand

log = logging.getLogger(__name__)

AVATAR_COLOURS = ("#3559a8", "#2f7d6d", "#8a4fa3", "#b0573a", "#5b6b2f", "#a33a5e", "#2c6f9b", "#7a5a2a")


def load_catalogue() -> list[Brand]:
    """The bundled fictional brands (``web/catalogue.json``)."""
    text = resources.files("web").joinpath("catalogue.json").read_text(encoding="utf-8")
    return [Brand(**item) for item in json.loads(text)]


async def seed_brands(storage: Any) -> int:
    """Insert the catalogue when the ``brands`` table is empty; returns how many were inserted."""
    from stream.storage.queries import count_brands

    if await storage.run(count_brands, storage) > 0:
        return 0
    catalogue = load_catalogue()
    await storage.run(storage.insert_brands, catalogue)
    log.info("seeded %d catalogue brands into ClickHouse", len(catalogue))
    return len(catalogue)


def initials(name: str) -> str:
    """Up to two letters for the avatar: first letters of the first two words."""
    words = [word for word in name.replace("&", " ").split() if word[:1].isalnum()]
    return "".join(word[0] for word in words[:2]).upper() or "?"


def avatar_colour(name: str) -> str:
    """A stable colour per brand name, so the same brand always looks the same."""
    digest = hashlib.sha1(name.encode("utf-8")).digest()
    return AVATAR_COLOURS[digest[0] % len(AVATAR_COLOURS)]


def brand_card(row: dict[str, Any]) -> dict[str, str]:
    """What the page and ``GET /api/brands/random`` show of a brand row."""
    name = str(row.get("name", ""))
    return {
        "name": name,
        "website": str(row.get("website") or ""),
        "logo": str(row.get("logo") or ""),
        "category": str(row.get("category") or ""),
        "sub_category": str(row.get("sub_category") or ""),
        "initials": initials(name),
        "colour": avatar_colour(name),
    }


async def random_brand_card(storage: Any, exclude: str | None = None) -> dict[str, str] | None:
    """A random brand (not ``exclude`` when there is another one), or None when there are none."""
    from stream.storage.queries import random_brand

    row = await storage.run(random_brand, storage, exclude)
    return brand_card(row) if row else None
