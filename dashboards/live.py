"""Grafana Live: per-second aggregates of scored reviews, pushed to a dashboard panel.

The web server owns a :class:`LivePusher` when ``GRAFANA_URL`` and ``GRAFANA_TOKEN`` are set.
For every scored review it consumes it calls :meth:`LivePusher.observe` (a dict update, never
blocks); :meth:`LivePusher.run` is a task that, once a second, turns finished seconds into
Influx line protocol and POSTs them to ``{GRAFANA_URL}/api/live/push/reviewpulse``. Grafana
shows them on channel ``stream/reviewpulse/reviews`` (the Overview dashboard's live panel).

When Grafana is down or refuses, failures are logged and retried with exponential backoff;
lines wait in a bounded buffer (``GRAFANA_LIVE_BUFFER_LINES``; the oldest are dropped first),
so scoring never waits on Grafana and memory stays bounded. The token needs the Admin role
(a service account token): Grafana accepts Live pushes from org admins only.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from kernel.events import ScoredReview
from kernel.settings import Settings

log = logging.getLogger(__name__)

LIVE_STREAM = "reviewpulse"  # the dashboards' live panel follows stream/reviewpulse/reviews
LIVE_MEASUREMENT = "reviews"
LABELS = ("bad", "average", "good")


def _escape(text: str, specials: str) -> str:
    text = text.replace("\\", "\\\\")
    for char in specials:
        text = text.replace(char, "\\" + char)
    return text.replace("\n", "\\n")


def _field_value(value: int | float | str | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"line protocol has no representation for {value}")
        return repr(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_line(measurement: str, tags: Mapping[str, str], fields: Mapping[str, int | float | str | bool],
                timestamp_ns: int) -> str:
    """One point in Influx line protocol (the format Grafana Live's push endpoint reads).

    Tags are sorted and empty tag values left out (line protocol forbids them); integers get
    the ``i`` suffix, strings are quoted. Raises ValueError for no fields or a non-finite float.
    """
    if not fields:
        raise ValueError("a line protocol point needs at least one field")
    head = _escape(measurement, ", ")
    for key in sorted(tags):
        if tags[key] != "":
            head += f",{_escape(key, ',= ')}={_escape(tags[key], ',= ')}"
    body = ",".join(f"{_escape(key, ',= ')}={_field_value(value)}" for key, value in fields.items())
    return f"{head} {body} {int(timestamp_ns)}"


@dataclass
class SecondAggregate:
    """Scored reviews of one source within one second."""

    count: int = 0
    score_sum: float = 0.0
    latency_ms_max: float = 0.0
    bad: int = 0
    average: int = 0
    good: int = 0

    def add(self, review: ScoredReview) -> None:
        self.count += 1
        self.score_sum += review.score
        self.latency_ms_max = max(self.latency_ms_max, review.latency_ms)
        if review.label in LABELS:
            setattr(self, review.label, getattr(self, review.label) + 1)

    def fields(self) -> dict[str, int | float]:
        return {"count": self.count, "bad": self.bad, "average": self.average, "good": self.good,
                "score_mean": round(self.score_sum / self.count, 6),
                "latency_ms_max": round(self.latency_ms_max, 3)}


def live_enabled(settings: Settings) -> bool:
    """True when the web server should start a :class:`LivePusher`."""
    return bool(settings.grafana_url and settings.grafana_token.get_secret_value())


class LivePusher:
    """Counts scored reviews per second and source, and pushes them to Grafana Live.

    ``observe`` must be called from the event loop's thread (it is not locked).
    """

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.url = f"{settings.grafana_url.rstrip('/')}/api/live/push/{LIVE_STREAM}"
        self._headers = {"Authorization": f"Bearer {settings.grafana_token.get_secret_value()}",
                         "Content-Type": "text/plain"}
        self.interval_s = settings.grafana_live_interval_s
        self.max_backoff_s = settings.grafana_live_max_backoff_s
        self._clock = clock
        self._seconds: dict[tuple[int, str], SecondAggregate] = {}
        self.pending: deque[str] = deque(maxlen=settings.grafana_live_buffer_lines)
        self.pushed_lines = 0
        self.failures = 0

    def observe(self, review: ScoredReview) -> None:
        """Count one scored review in the current second (O(1), never blocks)."""
        key = (int(self._clock()), review.source or "unknown")
        self._seconds.setdefault(key, SecondAggregate()).add(review)

    def close_finished_seconds(self) -> int:
        """Move every second before the current one into the send buffer; returns lines added."""
        now_s = int(self._clock())
        finished = sorted(key for key in self._seconds if key[0] < now_s)
        for second, source in finished:
            aggregate = self._seconds.pop((second, source))
            self.pending.append(encode_line(LIVE_MEASUREMENT, {"source": source}, aggregate.fields(),
                                            second * 1_000_000_000))
        return len(finished)

    async def push_pending(self, client: httpx.AsyncClient) -> bool:
        """POST the buffered lines once; True when Grafana took them (they leave the buffer)."""
        if not self.pending:
            return True
        lines = list(self.pending)
        body = "\n".join(lines).encode("utf-8")
        try:
            response = await client.post(self.url, content=body, headers=self._headers)
        except httpx.HTTPError as error:
            self.failures += 1
            log.warning("Grafana Live push to %s failed: %s (%d lines buffered)", self.url, error, len(lines))
            return False
        if response.status_code >= 300:
            self.failures += 1
            log.warning("Grafana Live push to %s answered %d: %s (%d lines buffered; a 401/403 means "
                        "GRAFANA_TOKEN is wrong or lacks the Admin role)",
                        self.url, response.status_code, response.text[:200], len(lines))
            return False
        for _ in lines:
            self.pending.popleft()
        self.pushed_lines += len(lines)
        return True

    async def run(self, client: httpx.AsyncClient | None = None) -> None:
        """Push every ``interval_s`` until cancelled; backs off (doubling, capped) while Grafana fails."""
        own_client = client is None
        client = client or httpx.AsyncClient(timeout=5.0)
        backoff_s = self.interval_s
        try:
            while True:
                await asyncio.sleep(backoff_s)
                self.close_finished_seconds()
                if await self.push_pending(client):
                    backoff_s = self.interval_s
                else:
                    backoff_s = min(max(backoff_s, self.interval_s) * 2, self.max_backoff_s)
        finally:
            if own_client:
                await client.aclose()
