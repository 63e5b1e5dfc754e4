"""A seeded generator of ``reviews.raw`` messages, each labelled with what the worker must do.

Every case knows its expected outcome: ``valid`` ones must be stored exactly once, the
rest must become dead letters with a reason. The kinds cover what the schema has to
refuse (malformed JSON, wrong types, extreme dates and numbers, huge texts, invalid
UTF-8, deep nesting, control characters in ids, non-http URLs) and what it must accept
(one-word and long texts, any Unicode, control characters it strips, any time zone; an empty
text is refused).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

WORDS = ["great", "awful", "slow", "friendly", "café", "naïve", "😀", "👍🏽", "東京", "שלום", "مرحبا", "ok", "\u200b"]


@dataclass(frozen=True)
class Case:
    raw: bytes
    valid: bool
    what: str
    id: str = ""


def _text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice(WORDS)  # one word: the shortest review there is (an empty one is refused)
    if roll < 0.06:
        return "long " * rng.randint(2_000, 19_000)  # up to 95,000 characters: still allowed
    if roll < 0.13:
        return "ctl\x00\x07\x1b[31m " + " ".join(rng.choices(WORDS, k=5)) + "\x7f"  # stripped, not refused
    return " ".join(rng.choices(WORDS, k=rng.randint(1, 40)))


def _ts(rng: random.Random) -> str:
    moment = datetime(1970, 1, 2, tzinfo=UTC) + timedelta(seconds=rng.randint(0, 7_200_000_000))
    zone = timezone(timedelta(minutes=rng.randrange(-720, 841, 15)))
    return moment.astimezone(zone).isoformat()


def valid_event(rng: random.Random, number: int) -> dict:
    event: dict = {"id": f"fuzz-{number}", "kind": rng.choice(["review", "scraped", "imported"]),
                   "text": _text(rng), "source": "fuzz", "brand": rng.choice(["Acme", "Bolt & Co", "", "Ünïcode"])}
    if rng.random() < 0.7:
        event["rating"] = rng.choice([None, 1, 2, 3, 4, 5, 4.0])
    if rng.random() < 0.8:
        event["ts"] = _ts(rng)
    if rng.random() < 0.3:
        event["url"] = f"https://reviews.example/{number}"
        event["meta"] = {"user_agent": "fuzz/1.0", "reviewer": rng.choice(WORDS)}
    return event


INVALID_FIELDS: list[tuple[str, object]] = [
    ("text", 5), ("text", None), ("text", ["a"]), ("text", {"a": "b"}), ("text", "x" * 100_001),
    ("text", ""), ("text", " \x00\x07 "),  # a review needs words: empty, or control characters only
    ("kind", "sonnet"), ("kind", 7), ("rating", "abc"), ("rating", [1]), ("rating", True), ("rating", 2.5),
    ("rating", 6), ("rating", 0), ("rating", 1e308), ("rating", -(10**40)), ("id", ""), ("id", 5),
    ("id", "nul\x00id"), ("meta", {"a": 1}), ("meta", []), ("meta", "x"), ("brand", 5), ("brand", "b" * 501),
    ("url", "javascript:alert(1)"), ("url", "file:///etc/passwd"), ("session_id", "a\nb"),
    ("ts", "yesterday"), ("ts", []), ("ts", "0001-01-01T00:00:00+05:00"), ("ts", "0001-01-01T00:00:00"),
    ("ts", "1969-12-31T23:59:59Z"), ("ts", "2200-01-01T00:00:00Z"), ("ts", "9999-12-31T23:59:59-05:00"),
    ("ts", 10**15), ("ts", -(10**11)),
]


def _malformed_json(rng: random.Random, event: dict) -> bytes:
    whole = json.dumps(event).encode()
    return whole[: rng.randint(0, len(whole) - 1)]


def _random_bytes(rng: random.Random, event: dict) -> bytes:
    return rng.choice([b"", b"null", b"42", b'"text"', b"[]", bytes(rng.getrandbits(8) for _ in range(40))])


def _invalid_utf8(rng: random.Random, event: dict) -> bytes:
    whole = json.dumps({**event, "text": "MARK"}).encode()
    return whole.replace(b"MARK", rng.choice([b"\xff\xfe", b"caf\xe9", b"\xc3\x28", b"\xed\xa0\x80"]))


def _deep(rng: random.Random, event: dict) -> bytes:
    depth = rng.randint(300, 5_000)
    if rng.random() < 0.5:
        return b"[" * depth + b"]" * depth
    return json.dumps(event)[:-1].encode() + b', "meta": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"


def _special_numbers(rng: random.Random, event: dict) -> bytes:
    return json.dumps(event)[:-1].encode() + b', "rating": ' + rng.choice([b"NaN", b"Infinity", b"1e400"]) + b"}"


def _lone_surrogate(rng: random.Random, event: dict) -> bytes:
    return json.dumps({**event, "text": "MARK"}).encode().replace(b"MARK", b"\\ud800 alone")


BROKEN: list[Callable[[random.Random, dict], bytes]] = [
    _malformed_json, _random_bytes, _invalid_utf8, _deep, _special_numbers, _lone_surrogate,
]


def invalid_case(rng: random.Random, number: int) -> Case:
    event = valid_event(rng, number)
    if rng.random() < 0.6:
        field, value = rng.choice(INVALID_FIELDS)
        return Case(json.dumps({**event, field: value}).encode(), False, f"{field}={str(value)[:40]!r}")
    broken = rng.choice(BROKEN)
    return Case(broken(rng, event), False, broken.__name__)


def generate(count: int, seed: int, huge: int = 3) -> list[Case]:
    """``count`` cases, about 55% valid; ``huge`` of them over 1 MB (MAX_TEXT_BYTES)."""
    rng = random.Random(seed)
    cases = []
    for number in range(count - huge):
        if rng.random() < 0.55:
            cases.append(Case(json.dumps(valid_event(rng, number)).encode(), True, "valid", f"fuzz-{number}"))
        else:
            cases.append(invalid_case(rng, number))
    cases += [Case(json.dumps({"kind": "review", "text": "h" * 1_200_000}).encode(), False, "huge")] * huge
    rng.shuffle(cases)
    return cases
