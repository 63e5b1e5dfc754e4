"""Every public door has a limit (issue 10, items 7-8) — through the real app and chDB, on the memory bus.

Body size, per-client request rates, the offset cap, ClickHouse limits on web queries,
JSON-only submissions, nested JSON and out-of-range dates, and the websocket's
connection caps and Origin check. The limits that need a real socket (uvicorn's
``ws_max_size``, a client that stops reading, trusted proxies) are in
``test_web_server_limits.py``.
"""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.integration.web.test_web_websocket import metric, receive_until
from web.query_limits import LimitedStorage, QueryOverLimit

pytestmark = pytest.mark.timeout(120)


def test_request_bodies_over_the_limit_answer_413(make_client: Any) -> None:
    client = make_client(http_max_body_bytes=1000)
    body = json.dumps({"review": "x" * 2000}).encode()
    declared = client.post("/api/review", content=body, headers={"content-type": "application/json"})
    assert declared.status_code == 413
    assert declared.json()["error"] == "request body over 1000 bytes (HTTP_MAX_BODY_BYTES)"
    chunked = client.post(  # no Content-Length: counted as it arrives
        "/api/predict", content=iter([body[:600], body[600:]]), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413
    assert client.post("/api/review", json={"review": "short enough"}).status_code == 202


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/predict", {}), ("POST", "/api/review", {}), ("GET", "/api/reviews", None),
])
def test_api_requests_are_rate_limited_per_client(make_client: Any, method: str, path: str, body: Any) -> None:
    client = make_client(api_requests_per_s=0.001, api_burst=2)
    answers = [client.request(method, path, json=body).status_code for _ in range(3)]
    assert 429 not in answers[:2] and answers[2] == 429
    limited = client.request(method, path, json=body)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert "too many requests" in limited.json()["error"]
    assert client.get("/api/brands/random").status_code == 200  # other endpoints are not limited


def test_offset_is_capped(make_client: Any) -> None:
    client = make_client(api_max_offset=100)
    assert client.get("/api/reviews", params={"offset": 100}).status_code == 200
    deep = client.get("/api/reviews", params={"offset": 101})
    assert deep.status_code == 422 and deep.json()["field"] == "offset"
    assert "cursor" in deep.json()["error"]


def test_web_queries_run_under_clickhouse_limits(make_client: Any, storage: Any) -> None:
    client = make_client(web_query_max_memory_bytes=1)
    response = client.get("/api/reviews")
    assert response.status_code == 503
    assert "MEMORY_LIMIT_EXCEEDED" in response.json()["error"]
    assert "WEB_QUERY_MAX_MEMORY_BYTES" in response.json()["error"]
    limited = LimitedStorage(storage, timeout_s=0.2, max_memory_bytes=10**9)
    with pytest.raises(QueryOverLimit, match="WEB_QUERY_TIMEOUT_S"):
        asyncio.run(limited.run(limited.query, "SELECT count() FROM numbers(1000000000000)"))


@pytest.mark.parametrize("content_type", [
    "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x", None,
])
def test_submit_review_takes_only_json(client: Any, content_type: str | None) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/api/review", content=b'{"review": "sneaky"}', headers=headers)
    assert response.status_code == 415
    assert "application/json" in response.json()["error"]


def test_submit_review_accepts_json_with_a_charset(client: Any) -> None:
    response = client.post(
        "/api/review", content=b'{"review": "fine"}', headers={"content-type": "application/json; charset=utf-8"}
    )
    assert response.status_code == 202


@pytest.mark.parametrize("body", [
    b"[" * 100_000, b'{"review": ' + b"[" * 5000 + b"]" * 5000 + b"}", b'{"review": "\xff\xfe"}',
    b'{"review": "unterminated',
])
def test_deep_or_invalid_json_answers_422(client: Any, body: bytes) -> None:
    for path in ("/api/predict", "/api/review"):
        response = client.post(path, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["field"] == "body"


def test_deep_json_over_the_websocket_gets_an_error_and_the_socket_lives(client: Any) -> None:
    with client.websocket_connect("/ws") as socket:
        receive_until(socket, "hello")
        socket.send_text("[" * 5000)
        assert receive_until(socket, "error")["error"] == "message is not JSON (nested more than 200 levels deep)"
        socket.send_json({"type": "ping"})
        assert receive_until(socket, "pong") == {"type": "pong"}


def _cursor(millis: int, review_id: str = "x") -> str:
    return base64.urlsafe_b64encode(f"{millis}:{review_id}".encode()).decode()


@pytest.mark.parametrize(("params", "field"), [
    ({"since": "0001-01-01T00:00:00+05:00"}, "since"),
    ({"since": "0001-01-01"}, "since"),
    ({"until": "9999-12-31"}, "until"),
    ({"since": "1800-06-01T00:00"}, "since"),
    ({"until": "2300-01-01"}, "until"),
    ({"cursor": _cursor(10**30)}, "cursor"),
    ({"cursor": _cursor(-(10**30))}, "cursor"),
    ({"limit": "9" * 5000}, "limit"),
])
def test_out_of_range_query_parameters_answer_422(client: Any, params: dict[str, str], field: str) -> None:
    response = client.get("/api/reviews", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


def test_websockets_are_capped_per_client_address(make_client: Any) -> None:
    client = make_client(ws_max_connections_per_ip=2)
    with client.websocket_connect("/ws") as first, client.websocket_connect("/ws/live"):
        receive_until(first, "hello")
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws"):
            pass
        assert refused.value.code == 1013
    with client.websocket_connect("/ws") as again:  # both closed: room again
        receive_until(again, "hello")
    assert metric(client, 'reviewpulse_web_ws_refused_total{reason="too_many_from_ip"}') == 1.0


def test_websockets_are_capped_per_process(make_client: Any) -> None:
    client = make_client(ws_max_connections=1, ws_max_connections_per_ip=100)
    with client.websocket_connect("/ws/live"):
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws"):
            pass
        assert refused.value.code == 1013
    assert metric(client, 'reviewpulse_web_ws_refused_total{reason="too_many_connections"}') == 1.0


@pytest.mark.parametrize("path", ["/ws", "/ws/live"])
def test_websocket_origin_must_be_the_public_url(make_client: Any, path: str) -> None:
    client = make_client(public_url="https://reviews.example")
    for origin in ("https://evil.example", "http://reviews.example", "null", "https://reviews.example:8443"):
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(path, headers={"origin": origin}):
            pass
        assert refused.value.code == 1008, origin
    for headers in ({"origin": "https://reviews.example"}, {"origin": "https://REVIEWS.example:443"}, {}):
        with client.websocket_connect(path, headers=headers) as socket:
            if path == "/ws":
                receive_until(socket, "hello")


def test_without_a_public_url_the_origin_must_match_the_host(client: Any) -> None:
    with pytest.raises(WebSocketDisconnect), client.websocket_connect("/ws", headers={"origin": "http://evil.example"}):
        pass
    with client.websocket_connect("/ws", headers={"origin": "http://testserver"}) as socket:
        receive_until(socket, "hello")
