"""Pure helpers: password hashes, rate limits, live buffers, filter parsing, brand avatars."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from starlette.datastructures import QueryParams

from kernel.events import Kind, ScoredReview
from web.brands import avatar_colour, initials, load_catalogue
from web.client_meta import client_meta, ip_hash
from web.filters import BadInput, parse_filter, parse_page
from web.live import LiveHub
from web.passwords import PasswordHashError, hash_password, verify_password
from web.ratelimit import FailureWindow, TokenBucket


def test_password_hash_round_trip() -> None:
    encoded = hash_password("s3cret", iterations=1000)
    assert encoded.startswith("pbkdf2_sha256$1000$")
    assert verify_password("s3cret", encoded)
    assert not verify_password("s3cret ", encoded)
    assert hash_password("s3cret", iterations=1000) != encoded  # random salt


@pytest.mark.parametrize("encoded", ["plain", "bcrypt$1$a$b", "pbkdf2_sha256$many$salt$aGFzaA==",
                                     "pbkdf2_sha256$10$salt$not base64!"])
def test_malformed_hash_names_the_setting(encoded: str) -> None:
    with pytest.raises(PasswordHashError, match="ADMIN_PASSWORD_HASH"):
        verify_password("x", encoded)


def test_token_bucket() -> None:
    bucket = TokenBucket(rate_per_s=2.0)
    assert [bucket.allow(now=100.0) for _ in range(3)] == [True, True, False]
    assert bucket.allow(now=100.5) and not bucket.allow(now=100.5)


def test_failure_window() -> None:
    window = FailureWindow(limit=2, window_s=10.0)
    window.record_failure("ip", now=0.0)
    assert not window.blocked("ip", now=1.0)
    window.record_failure("ip", now=1.0)
    assert window.blocked("ip", now=2.0) and not window.blocked("other", now=2.0)
    assert window.retry_after_s("ip", now=2.0) == pytest.approx(8.0)
    assert not window.blocked("ip", now=10.5)


def review(number: int) -> ScoredReview:
    return ScoredReview(kind=Kind.scraped, text=f"review {number}", probs=[0.1, 0.2, 0.7], score=0.8,
                        label="good", suggested_rating=5, model_version="t")


def test_slow_viewer_loses_the_oldest_messages_only() -> None:
    asyncio.run(_slow_viewer())


async def _slow_viewer() -> None:
    dropped = []
    hub = LiveHub(max_messages=3, on_drop=lambda: dropped.append(1))
    slow, fast = hub.join(), hub.join()
    hub.publish(review(0))
    assert [m["text"] for m in await fast.get_batch()] == ["review 0"]
    for number in range(1, 6):
        hub.publish(review(number))
    assert [m["text"] for m in await slow.get_batch()] == ["review 3", "review 4", "review 5"]
    assert slow.dropped == 3 and fast.dropped == 2 and len(dropped) == 5
    hub.leave(slow)
    hub.publish(review(6))
    assert len(hub) == 1 and len(slow) == 0


def test_parse_filter() -> None:
    flt = parse_filter(QueryParams("brand=Acme&label=good&disagreement=1&since=2026-01-01&until=2026-01-31&q=slow"))
    assert (flt.brand, flt.label, flt.disagreement, flt.search) == ("Acme", "good", True, "slow")
    assert flt.since == datetime(2026, 1, 1, tzinfo=UTC)
    assert flt.until == datetime(2026, 2, 1, tzinfo=UTC)  # a bare "until" date includes that day
    empty = parse_filter(QueryParams(""))
    assert (empty.brand, empty.label, empty.disagreement, empty.since) == (None, None, False, None)


def test_parse_page_limits() -> None:
    assert parse_page(QueryParams("limit=10&offset=20"), 100).limit == 10
    with pytest.raises(BadInput) as error:
        parse_page(QueryParams("limit=101"), 100)
    assert error.value.field == "limit" and "between 1 and 100" in error.value.message


def test_catalogue_and_avatars() -> None:
    catalogue = load_catalogue()
    assert len(catalogue) >= 30 and len({brand.name for brand in catalogue}) == len(catalogue)
    assert all(not brand.logo and brand.website.endswith(".example") for brand in catalogue)
    assert initials("Thistle & Thread") == "TT" and initials("zephyr") == "Z"
    assert avatar_colour("Acme") == avatar_colour("Acme")


def test_ip_is_only_stored_hashed() -> None:
    meta = client_meta("Mozilla/5.0", "198.51.100.4", b"key")
    assert meta == {"user_agent": "Mozilla/5.0", "ip_hash": ip_hash("198.51.100.4", b"key")}
    assert "198.51.100.4" not in str(meta) and ip_hash("198.51.100.4", b"other") != meta["ip_hash"]


@pytest.mark.parametrize(("origin", "host", "public_url", "allowed"), [
    (None, "a.example", "", True),  # not a browser
    ("https://a.example", "a.example", "", True),
    ("https://a.example", "a.example:443", "", True),
    ("http://a.example:8000", "A.EXAMPLE:8000", "", True),
    ("http://a.example", "a.example:8000", "", False),
    ("https://evil.example", "a.example", "", False),
    ("null", "a.example", "", False),
    ("https://a.example", "internal:8000", "https://a.example", True),
    ("https://a.example:443", "internal:8000", "https://a.example/", True),
    ("http://a.example", "a.example", "https://a.example", False),
    ("https://a.example.evil", "a.example", "https://a.example", False),
])
def test_origin_allowed(origin: str | None, host: str, public_url: str, allowed: bool) -> None:
    from web.ws_guard import origin_allowed

    assert origin_allowed(origin, host, public_url) is allowed


def test_connection_caps() -> None:
    from web.ws_guard import ConnectionCaps

    caps = ConnectionCaps(max_total=3, max_per_ip=2)
    assert [caps.acquire("a"), caps.acquire("a"), caps.acquire("a")] == [None, None, "too_many_from_ip"]
    assert caps.acquire("b") is None and caps.acquire("c") == "too_many_connections"
    caps.release("a")
    assert caps.acquire("c") is None and caps.total == 3


def test_json_depth_is_bounded_and_brackets_in_strings_do_not_count() -> None:
    from web.json_body import JsonError, loads

    assert loads('{"review": "' + "[" * 100_000 + '"}') == {"review": "[" * 100_000}
    assert loads('{"a": "\\\\", "b": [[1]]}') == {"a": "\\", "b": [[1]]}
    with pytest.raises(JsonError, match="nested more than 200 levels deep"):
        loads("[" * 100_000 + "]" * 100_000)
    with pytest.raises(JsonError, match="not UTF-8"):
        loads(b'{"review": "\xff"}')
    with pytest.raises(JsonError, match="trailing comma"):
        loads('{"a": 1,}')


def test_an_event_the_schema_refuses_answers_422_not_500() -> None:
    import json as json_module

    from pydantic import ValidationError
    from starlette.requests import Request

    from kernel.events import Kind, ReviewEvent
    from web.app import EXCEPTION_HANDLERS

    try:
        ReviewEvent(kind=Kind.review, text="fine", rating=9, source="api")
    except ValidationError as error:
        refused = error
    request = Request({"type": "http", "method": "POST", "path": "/api/review", "headers": []})
    response = asyncio.run(EXCEPTION_HANDLERS[ValidationError](request, refused))
    assert response.status_code == 422
    assert json_module.loads(response.body)["fields"][0]["field"] == "rating"
