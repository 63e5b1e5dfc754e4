"""Grafana Live: the line-protocol encoder on known values, and the pusher over real HTTP."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from dashboards.live import LivePusher, encode_line, live_enabled
from kernel.events import ScoredReview
from kernel.settings import Settings

TOKEN = "glsa_live"


def test_encode_line_known_values() -> None:
    line = encode_line("reviews", {"source": "web", "brand": ""},
                       {"count": 3, "score_mean": 0.5, "ok": True, "note": 'say "hi"'}, 1_700_000_000_000_000_000)
    assert line == 'reviews,source=web count=3i,score_mean=0.5,ok=true,note="say \\"hi\\"" 1700000000000000000'


def test_encode_line_escapes_separators() -> None:
    line = encode_line("my reviews,x", {"source name": "a=b, c"}, {"field,1": 1.25}, 5)
    assert line == "my\\ reviews\\,x,source\\ name=a\\=b\\,\\ c field\\,1=1.25 5"


def test_encode_line_rejects_what_line_protocol_cannot_carry() -> None:
    with pytest.raises(ValueError, match="at least one field"):
        encode_line("reviews", {}, {}, 0)
    with pytest.raises(ValueError, match="nan"):
        encode_line("reviews", {}, {"score": float("nan")}, 0)


class LiveEndpoint:
    """Records Grafana Live pushes; answers with the queued statuses (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.bodies: list[str] = []
        self.auth: list[str | None] = []
        self.paths: list[str] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                status = endpoint.statuses.pop(0) if endpoint.statuses else 200
                if status == 200:
                    endpoint.bodies.append(body)
                endpoint.auth.append(self.headers.get("Authorization"))
                endpoint.paths.append(self.path)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[LiveEndpoint]:
    live = LiveEndpoint()
    yield live
    live.close()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def review(label: str, score: float, source: str = "web", latency_ms: int = 40) -> ScoredReview:
    scored_at = datetime(2026, 1, 1, tzinfo=UTC)
    return ScoredReview(kind="review", text="t", source=source, probs=[0.1, 0.2, 0.7], score=score, label=label,
                        suggested_rating=4, model_version="v", scored_at=scored_at,
                        ts=scored_at - timedelta(milliseconds=latency_ms))


def settings_for(url: str, **extra: object) -> Settings:
    return Settings(grafana_url=url, grafana_token=TOKEN, **extra)


def test_live_is_enabled_only_with_url_and_token() -> None:
    assert live_enabled(settings_for("http://grafana:3000"))
    assert not live_enabled(Settings(grafana_url="http://grafana:3000"))
    assert not live_enabled(Settings(grafana_token=TOKEN))


def test_pusher_aggregates_per_second_and_source(endpoint: LiveEndpoint) -> None:
    clock = Clock(1_700_000_000.2)
    pusher = LivePusher(settings_for(endpoint.url + "/"), clock=clock)
    pusher.observe(review("good", 0.9, latency_ms=30))
    pusher.observe(review("bad", 0.1, latency_ms=50))
    pusher.observe(review("average", 0.5, source="scrapy"))
    assert pusher.close_finished_seconds() == 0, "the current second is still open"
    clock.now += 1
    pusher.observe(review("good", 0.8))  # belongs to the next second
    assert pusher.close_finished_seconds() == 2

    async def push() -> bool:
        async with httpx.AsyncClient() as client:
            return await pusher.push_pending(client)

    assert asyncio.run(push())
    assert endpoint.paths == ["/api/live/push/reviewpulse"]
    assert endpoint.auth == [f"Bearer {TOKEN}"]
    assert endpoint.bodies[0].split("\n") == [
        "reviews,source=scrapy count=1i,bad=0i,average=1i,good=0i,score_mean=0.5,latency_ms_max=40.0 "
        "1700000000000000000",
        "reviews,source=web count=2i,bad=1i,average=0i,good=1i,score_mean=0.5,latency_ms_max=50.0 "
        "1700000000000000000",
    ]
    assert not pusher.pending and pusher.pushed_lines == 2


def test_failed_pushes_keep_lines_bounded_and_retry() -> None:
    endpoint = LiveEndpoint(statuses=[500, 401])
    try:
        clock = Clock(100.0)
        pusher = LivePusher(settings_for(endpoint.url, grafana_live_buffer_lines=3), clock=clock)
        for _ in range(5):  # five seconds of traffic, buffer of three lines: the two oldest drop
            pusher.observe(review("good", 0.9))
            clock.now += 1
            pusher.close_finished_seconds()

        async def push_three_times() -> list[bool]:
            async with httpx.AsyncClient() as client:
                return [await pusher.push_pending(client) for _ in range(3)]

        assert asyncio.run(push_three_times()) == [False, False, True]
        assert pusher.failures == 2
        assert [line.rsplit(" ", 1)[1] for line in endpoint.bodies[0].split("\n")] == [
            f"{second}000000000" for second in (102, 103, 104)]
    finally:
        endpoint.close()


def test_unreachable_grafana_never_raises_and_run_backs_off_then_delivers() -> None:
    clock = Clock(0.0)
    unreachable = LivePusher(settings_for("http://127.0.0.1:1"), clock=clock)
    unreachable.observe(review("good", 0.9))
    clock.now = 1.0
    unreachable.close_finished_seconds()

    async def once() -> bool:
        async with httpx.AsyncClient() as client:
            return await unreachable.push_pending(client)

    assert asyncio.run(once()) is False and len(unreachable.pending) == 1

    endpoint = LiveEndpoint(statuses=[503, 503])
    try:
        pusher = LivePusher(settings_for(endpoint.url, grafana_live_interval_s=0.01, grafana_live_max_backoff_s=0.05))
        pusher.pending.append("reviews,source=web count=1i 1")

        async def run_until_delivered() -> None:
            task = asyncio.create_task(pusher.run())
            for _ in range(2000):  # a hang guard, not a timing assertion
                if pusher.pushed_lines:
                    break
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(run_until_delivered())
        assert pusher.failures == 2 and pusher.pushed_lines == 1
        assert endpoint.bodies == ["reviews,source=web count=1i 1"]
    finally:
        endpoint.close()
