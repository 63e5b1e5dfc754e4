"""``/ws`` and ``/ws/live`` message by message, on the memory bus with the worker's own batch logic (conftest)."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.timeout(120)


def receive_until(socket: Any, wanted: str) -> dict[str, Any]:
    """Next message of type ``wanted``; other messages in between fail the test, except the live feed's
    alert banner (``web.alerts``: the shared storage may hold another test's brand that turned bad)."""
    message = socket.receive_json()
    while message["type"] == "alerts" and wanted != "alerts":
        message = socket.receive_json()
    assert message["type"] == wanted, message
    return message


def metric(client: Any, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_hello_and_ping(client: Any) -> None:
    with client.websocket_connect("/ws") as socket:
        assert len(receive_until(socket, "hello")["session_id"]) == 32
        socket.send_json({"type": "ping"})
        assert receive_until(socket, "pong") == {"type": "pong"}


def test_draft_gets_the_workers_score_for_its_seq(client: Any, scoring_loop: Any) -> None:
    text = "Kind people, fast refund."
    with client.websocket_connect("/ws") as socket:
        receive_until(socket, "hello")
        socket.send_json({"type": "draft", "text": text, "seq": 1, "brand": "Bluefin Telecom"})
        score = receive_until(socket, "score")
    expected = scoring_loop.score(text)
    assert score["seq"] == 1
    assert score["score"] == pytest.approx(expected.score, abs=1e-6)
    assert score["suggested_rating"] == expected.suggested_rating
    assert score["label"] == expected.label


def test_scores_go_only_to_their_own_session(client: Any) -> None:
    with client.websocket_connect("/ws") as mine, client.websocket_connect("/ws") as other:
        receive_until(mine, "hello")
        receive_until(other, "hello")
        mine.send_json({"type": "draft", "text": "only mine", "seq": 1})
        receive_until(mine, "score")
        other.send_json({"type": "ping"})
        assert receive_until(other, "pong")  # nothing of mine arrived before the pong


def test_older_seq_is_dropped_after_a_newer_score(client: Any) -> None:
    with client.websocket_connect("/ws") as socket:
        receive_until(socket, "hello")
        socket.send_json({"type": "draft", "text": "newer text", "seq": 5})
        assert receive_until(socket, "score")["seq"] == 5
        socket.send_json({"type": "draft", "text": "older text", "seq": 3})
        socket.send_json({"type": "draft", "text": "newest text", "seq": 6})
        assert receive_until(socket, "score")["seq"] == 6  # the seq-3 answer never reached the page
    assert metric(client, "reviewpulse_web_scores_stale_total") == 1.0


@pytest.mark.parametrize(("frame", "error"), [
    ("not json", "message is not JSON (expected ident at line 1 column 2)"),
    ("[1, 2]", "message must be a JSON object"),
    ('{"type": "shout"}', "unknown message type 'shout'"),
    ('{"type": "draft", "text": "hi", "seq": -1}', "seq: Input should be greater than or equal to 0"),
    ('{"type": "draft", "seq": 1}', "text: Field required"),
    ('{"type": "submit", "text": "  ", "rating": 4}', "text: Value error, must not be empty"),
    ('{"type": "submit", "text": "fine", "rating": 9}', "rating: Input should be less than or equal to 5"),
])
def test_bad_frames_get_an_error_and_never_reach_kafka(client: Any, frame: str, error: str) -> None:
    with client.websocket_connect("/ws") as socket:
        receive_until(socket, "hello")
        socket.send_text(frame)
        assert receive_until(socket, "error")["error"] == error
    assert metric(client, "reviewpulse_web_drafts_published_total") == 0.0
    assert metric(client, "reviewpulse_web_reviews_submitted_total") == 0.0


def test_oversized_and_binary_frames_are_rejected(make_client: Any) -> None:
    client = make_client(ws_max_message_bytes=200)
    with client.websocket_connect("/ws") as socket:
        receive_until(socket, "hello")
        socket.send_text(json.dumps({"type": "draft", "text": "x" * 300, "seq": 1}))
        assert receive_until(socket, "error")["error"] == "message is over 200 bytes"
        socket.send_bytes(b"\xff\xfe")
        assert receive_until(socket, "error")["error"] == "binary frames must be UTF-8 JSON"
    assert metric(client, "reviewpulse_web_drafts_published_total") == 0.0


def test_every_frame_takes_a_token_and_a_flood_gets_one_error(make_client: Any) -> None:
    client = make_client(ws_max_drafts_per_s=0.01)  # a burst of one frame, then one per 100 s
    with client.websocket_connect("/ws") as socket:
        receive_until(socket, "hello")
        socket.send_text("not json")  # an error reply still costs the token
        assert receive_until(socket, "error")["error"].startswith("message is not JSON")
        socket.send_json({"type": "ping"})  # pings count too
        assert socket.receive_json()["error"].startswith("more than 0.01 messages per second")
        for seq in range(1, 6):
            socket.send_json({"type": "draft", "text": f"draft {seq}", "seq": seq})
    assert metric(client, 'reviewpulse_web_ws_rejected_total{reason="rate_limited"}') == 6.0
    assert metric(client, "reviewpulse_web_drafts_published_total") == 0.0


def test_submit_is_accepted_then_stored(client: Any, scoring_loop: Any) -> None:
    text = "Best bakery in town."
    with client.websocket_connect("/ws") as socket:
        receive_until(socket, "hello")
        socket.send_json({
            "type": "submit", "text": text, "rating": 5, "brand": "Marigold Bakery",
            "suggested_rating": 4, "sentiment_score": 0.7,
        })
        accepted = receive_until(socket, "accepted")
        stored = receive_until(socket, "stored")
    assert stored["id"] == accepted["id"]
    assert stored["rating"] == 5 and stored["brand"] == "Marigold Bakery"
    assert stored["score"] == pytest.approx(scoring_loop.score(text).score, abs=1e-6)


def test_live_feed_receives_stored_reviews_but_not_drafts(client: Any) -> None:
    with client.websocket_connect("/ws/live") as live, client.websocket_connect("/ws") as socket:
        receive_until(socket, "hello")
        socket.send_json({"type": "draft", "text": "a draft is private", "seq": 1})
        receive_until(socket, "score")
        response = client.post("/api/review?wait=1", json={"review": "<b>bold</b> claim", "brand": "Zephyr"})
        batch = receive_until(live, "reviews")
    assert [review["id"] for review in batch["reviews"]] == [response.json()["id"]]
    assert batch["reviews"][0]["text"] == "<b>bold</b> claim"
    assert batch["reviews"][0]["source"] == "api"


def test_two_replicas_each_see_every_stored_review_and_only_their_own_drafts(make_client: Any) -> None:
    replica_a, replica_b = make_client(), make_client()
    with replica_b.websocket_connect("/ws/live") as live_b, replica_a.websocket_connect("/ws") as socket_a:
        receive_until(socket_a, "hello")
        socket_a.send_json({"type": "draft", "text": "typed on replica A", "seq": 1})
        assert receive_until(socket_a, "score")["seq"] == 1
        response = replica_a.post("/api/review?wait=1", json={"review": "stored through A", "brand": "Kestrel"})
        batch = receive_until(live_b, "reviews")
    assert [review["id"] for review in batch["reviews"]] == [response.json()["id"]]
    assert metric(replica_b, "reviewpulse_web_scores_sent_total") == 0.0  # B had no session for A's draft
    assert metric(replica_b, "reviewpulse_web_scored_consumed_total") >= 2.0  # but it read both answers
