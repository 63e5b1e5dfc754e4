"""Prometheus metrics of one web app; each app has its own registry (tests build many apps)."""

from __future__ import annotations

import gc

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

LATENCY_BUCKETS_S = (0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0)


class WebMetrics:
    """The counters the web tier keeps; names start ``reviewpulse_web_``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        prefix = "reviewpulse_web_"
        self.ws_connections = Gauge(prefix + "ws_connections", "open /ws sessions", registry=self.registry)
        self.live_viewers = Gauge(prefix + "live_viewers", "open /ws/live viewers", registry=self.registry)
        self.drafts_published = Counter(
            prefix + "drafts_published", "drafts sent to Kafka", registry=self.registry
        )
        self.ws_rejected = Counter(
            prefix + "ws_rejected", "websocket messages answered with an error frame", ["reason"],
            registry=self.registry,
        )
        self.scores_sent = Counter(
            prefix + "scores_sent", "draft scores sent to pages", registry=self.registry
        )
        self.scores_stale = Counter(
            prefix + "scores_stale", "draft scores dropped: a newer one was already sent",
            registry=self.registry,
        )
        self.draft_latency = Histogram(
            prefix + "draft_to_score_seconds", "draft published to its score received",
            buckets=LATENCY_BUCKETS_S, registry=self.registry,
        )
        self.reviews_submitted = Counter(
            prefix + "reviews_submitted", "reviews published to reviews.raw", ["via"], registry=self.registry
        )
        self.predictions = Counter(
            prefix + "predictions", "POST /api/predict by outcome", ["outcome"], registry=self.registry
        )
        self.scored_consumed = Counter(
            prefix + "scored_consumed", "events read from reviews.scored", registry=self.registry
        )
        self.live_dropped = Counter(
            prefix + "live_dropped", "live-feed messages dropped for slow viewers", registry=self.registry
        )
        self.ws_refused = Counter(
            prefix + "ws_refused", "websocket handshakes refused (origin, connection caps)", ["reason"],
            registry=self.registry,
        )
        self.ws_closed_slow = Counter(
            prefix + "ws_closed_slow", "websockets closed because the client stopped reading", registry=self.registry
        )
        self.gc_frozen = Gauge(
            prefix + "gc_frozen_objects", "objects of this process kept out of the garbage collector's passes "
            "(frozen once start-up is done, reviewpulse.heap)", registry=self.registry,
        )
        self.gc_frozen.set_function(gc.get_freeze_count)
        self.http_rate_limited = Counter(
            prefix + "http_rate_limited", "API requests answered 429", ["endpoint"], registry=self.registry
        )
        self.login_failures = Counter(
            prefix + "admin_login_failures", "failed admin logins", registry=self.registry
        )


async def metrics_endpoint(request: Request) -> Response:
    """``GET /metrics`` in the Prometheus text format."""
    metrics: WebMetrics = request.app.state.metrics
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
