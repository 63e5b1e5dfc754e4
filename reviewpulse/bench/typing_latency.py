"""``reviewpulse bench typing``: many people typing at once, measured from their side.

Each session opens ``/ws`` and sends drafts of a growing review text at a fixed rate,
as a debounced page would, and times draft -> score. A draft whose own score never
arrives was superseded (the worker keeps the latest draft per session, the server
drops scores older than one already sent). A websocket ping (no Kafka) measured in the
same run is the baseline: the difference is the cost of Kafka plus the worker.

``--during-import N`` is the mixed case: N generated reviews are imported first (the
worker's backlog), and the sessions type while the worker scores them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernel.settings import Settings
from reviewpulse.bench.texts import TYPED_REVIEWS

TARGET_P99_MS = 150.0
GRACE_S = 3.0


@dataclass
class SessionResult:
    latencies_ms: list[float] = field(default_factory=list)
    ping_ms: list[float] = field(default_factory=list)
    sent: int = 0
    superseded: int = 0
    errors: int = 0


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile (None for no values)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)], 1)


def _draft_text(session: int, seq: int) -> str:
    review = TYPED_REVIEWS[session % len(TYPED_REVIEWS)]
    length = 6 * seq % (len(review) + 1) or len(review)
    return review[:length] or review


async def _session(url: str, number: int, rate: float, duration_s: float, start_at: float) -> SessionResult:
    import websockets

    result = SessionResult()
    sent_at: dict[int, float] = {}
    pings: list[float] = []
    async with websockets.connect(url, max_size=2**20) as socket:
        json.loads(await socket.recv())  # hello

        async def receive() -> None:
            async for raw in socket:
                now = time.perf_counter()
                message = json.loads(raw)
                if message["type"] == "score" and message["seq"] in sent_at:
                    result.latencies_ms.append((now - sent_at.pop(message["seq"])) * 1000)
                elif message["type"] == "pong" and pings:
                    result.ping_ms.append((now - pings.pop(0)) * 1000)
                elif message["type"] == "error":
                    result.errors += 1

        receiver = asyncio.create_task(receive())
        await asyncio.sleep(max(start_at - time.perf_counter(), 0) + number / (rate * 20.0))
        interval_s = 1.0 / rate
        began = time.perf_counter()
        for seq in range(1, int(rate * duration_s) + 1):
            await asyncio.sleep(max(began + (seq - 1) * interval_s - time.perf_counter(), 0))
            sent_at[seq] = time.perf_counter()
            await socket.send(json.dumps({"type": "draft", "seq": seq, "text": _draft_text(number, seq)}))
            result.sent += 1
            if seq % int(max(rate, 1)) == 0:
                pings.append(time.perf_counter())
                await socket.send('{"type":"ping"}')
        await asyncio.sleep(GRACE_S)
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver
    result.superseded = len(sent_at)
    return result


async def run_typing_bench(base_url: str, sessions: int, rate: float, duration_s: float) -> dict[str, Any]:
    """Run the sessions concurrently; figures in milliseconds."""
    ws_url = base_url.replace("https://", "wss://").replace("http://", "ws://").rstrip("/") + "/ws"
    start_at = time.perf_counter() + 1.0
    runs = [_session(ws_url, number, rate, duration_s, start_at) for number in range(sessions)]
    results = await asyncio.gather(*runs)
    latencies = [value for result in results for value in result.latencies_ms]
    pings = [value for result in results for value in result.ping_ms]
    return {
        "url": base_url, "sessions": sessions, "drafts_per_s": rate, "duration_s": duration_s,
        "drafts_sent": sum(r.sent for r in results), "scores_received": len(latencies),
        "superseded": sum(r.superseded for r in results), "errors": sum(r.errors for r in results),
        "p50_ms": percentile(latencies, 0.50), "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99), "max_ms": percentile(latencies, 1.0),
        "ping_p50_ms": percentile(pings, 0.50), "target_p99_ms": TARGET_P99_MS,
    }


def format_summary(result: dict[str, Any]) -> str:
    """What people read after ``bench typing``: the load, what came back, the percentiles against the target."""
    return (
        f"{result['sessions']} sessions x {result['drafts_per_s']:g} drafts/s x {result['duration_s']:g} s "
        f"against {result['url']}\n"
        f"drafts sent {result['drafts_sent']}, scores received {result['scores_received']}, "
        f"superseded {result['superseded']}, errors {result['errors']}\n"
        f"draft -> score  p50 {result['p50_ms']} ms  p95 {result['p95_ms']} ms  p99 {result['p99_ms']} ms  "
        f"(target p99 <= {result['target_p99_ms']} ms)\n"
        f"websocket ping baseline p50 {result['ping_p50_ms']} ms"
        + (f"\nduring an import of {result['during_import']['reviews']} reviews (sent in "
           f"{result['during_import']['send_s']} s; typing started {result['during_import']['typing_started_after_s']:g} s "
           "after the import)" if "during_import" in result else "")
    )


def bulk_import(bootstrap: str, settings: Settings, reviews: int, scratch: Path) -> dict[str, Any]:
    """Send ``reviews`` generated reviews to reviews.raw as ``reviewpulse import`` would: the backlog
    the worker works through while the typing sessions run (the mixed case)."""
    from producers.importer import ImportOptions, import_file
    from reviewpulse.bench.texts import synthetic_reviews, write_import_file

    path = write_import_file(scratch / "bulk.jsonl", synthetic_reviews(reviews, seed=11), "bench-bulk")
    summary = import_file(path, bootstrap, settings, ImportOptions(source=f"bench-bulk-{time.time_ns()}"),
                          progress=False)
    return {"reviews": summary.sent, "failed": summary.failed, "send_s": round(summary.seconds, 2)}


async def typing_during_import(base_url: str, bootstrap: str, settings: Settings, reviews: int, sessions: int,
                               rate: float, duration_s: float, head_start_s: float = 5.0) -> dict[str, Any]:
    """The typing figures while a bulk import of ``reviews`` is being scored; the import starts first."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="reviewpulse-bench-") as scratch:
        sending = asyncio.create_task(asyncio.to_thread(bulk_import, bootstrap, settings, reviews, Path(scratch)))
        await asyncio.sleep(head_start_s)
        result = await run_typing_bench(base_url, sessions, rate, duration_s)
        result["during_import"] = {**await sending, "typing_started_after_s": head_start_s}
    return result
