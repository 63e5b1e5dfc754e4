"""Limits on HTTP requests: body size, and requests per client on the expensive endpoints.

The body limit is pure ASGI so it applies before anything reads the body: a declared
``Content-Length`` over ``HTTP_MAX_BODY_BYTES`` is refused at once, and a chunked body
is counted as it arrives and cut off at the limit (both 413). The per-client limit
is a token bucket per address and endpoint (``API_REQUESTS_PER_S``, ``API_BURST``);
the address is the one uvicorn reports, i.e. ``X-Forwarded-For`` only from
``TRUSTED_PROXIES``.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.ratelimit import KeyedBuckets

RATE_LIMITED_ENDPOINTS = ("predict", "review", "reviews")


class TooManyRequests(Exception):
    """The client is over its rate; answered 429 with ``Retry-After``."""

    def __init__(self, endpoint: str, retry_after_s: float) -> None:
        super().__init__(f"too many requests to /api/{endpoint}; retry after {retry_after_s:g} s")
        self.retry_after_s = retry_after_s


class _BodyTooLarge(Exception):
    pass


async def _refuse(send: Send, status: int, error: str) -> None:
    body = json.dumps({"error": error}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for request bodies over ``max_bytes`` (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"request body over {self.max_bytes} bytes (HTTP_MAX_BODY_BYTES)"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await _refuse(send, 400, "Content-Length is not a number")
                return
            if int(declared) > self.max_bytes:
                await _refuse(send, 413, too_large)
                return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _BodyTooLarge:
            if not started:
                await _refuse(send, 413, too_large)


def rate_limiters(rate_per_s: float, burst: int) -> dict[str, KeyedBuckets]:
    return {endpoint: KeyedBuckets(rate_per_s, float(burst)) for endpoint in RATE_LIMITED_ENDPOINTS}


def check_rate(request: Request, endpoint: str) -> None:
    """Take one request from this client's bucket for ``endpoint``, or raise :class:`TooManyRequests`."""
    state = request.app.state
    limiter: KeyedBuckets = state.rate_limiters[endpoint]
    if not limiter.allow(request.client.host if request.client else "unknown"):
        state.metrics.http_rate_limited.labels(endpoint).inc()
        raise TooManyRequests(endpoint, limiter.retry_after_s())
