"""How events travel in a Kafka message: one event (a JSON object) or several (a JSON array of them).

The only place the framing is written and read. Bulk imports pack many reviews into
one message (``producers.packing``) because on two cores the broker, Faust and the
clients spend about as much CPU per message as the model spends per review; the worker
answers a message in kind (one scored event for an object, an array for an array), and
every reader of ``reviews.scored`` takes both. Dead letters stay one per event.

Writing: :func:`encode_message` (an object for one event, an array for several) and
:func:`encode_array` (always an array: the answer to an array message). Reading:
:func:`holds_many`, :func:`decode_items` (an array message's items, or why it is
unusable) and :func:`events_of` (any message as a list of its events, for readers that
skip what they cannot read).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any


class FramingError(ValueError):
    """A message that is not UTF-8, not JSON, nested too deeply, or not an event or a non-empty array of them."""


def encode_array(events: Sequence[bytes]) -> bytes:
    """Serialised events (each a JSON object) as one message value: a JSON array of them."""
    return b"[" + b",".join(events) + b"]"


def encode_message(events: Sequence[bytes]) -> bytes:
    """One serialised event as itself, several as an array (what a packed import sends)."""
    if len(events) == 1:
        return events[0]
    return encode_array(events)


def holds_many(raw: bytes) -> bool:
    """Whether a message value is an array of events rather than one event."""
    return raw.lstrip()[:1] == b"["


def decode_items(raw: bytes) -> list[Any]:
    """The items of an array message, each as parsed JSON (not yet validated); raises :class:`FramingError`."""
    try:
        items = json.loads(raw)
    except UnicodeDecodeError as error:
        raise FramingError(f"not UTF-8: {error}") from error
    except ValueError as error:
        raise FramingError(f"not JSON: {error}") from error
    except RecursionError as error:
        raise FramingError("not JSON: nested too deeply") from error
    if not isinstance(items, list) or not items:
        raise FramingError("not an event: a JSON object or a non-empty array of them")
    return items


def item_bytes(item: Any) -> bytes:
    """One item of an array message as JSON: what its dead letter keeps (escaped where UTF-8 cannot hold it)."""
    try:
        return json.dumps(item, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return json.dumps(item).encode("ascii")


def events_of(raw: bytes | None) -> list[Any]:
    """Any message's events as parsed JSON (one or an array); an empty list when it is unreadable."""
    try:
        decoded = json.loads(raw or b"")
    except (ValueError, RecursionError):
        return []
    return decoded if isinstance(decoded, list) else [decoded]
