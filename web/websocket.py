"""``/ws``: one connection per review page; drafts in, scores out, submissions confirmed.

Protocol (see web/README.md): client sends ``draft`` / ``submit`` / ``ping``; server
answers ``hello``, ``score``, ``accepted``, ``stored``, ``pong`` and ``error``. Bad
messages (too big, not JSON, unknown type) get an error frame and never reach Kafka.
Scores older than the newest one sent are dropped here too.

Bounds: every frame the client sends (pings and bad frames included) takes a token
from one bucket (``WS_MAX_DRAFTS_PER_S``); frames over it are dropped with a single
error frame per burst, so a flood cannot make the server write a flood back. The
outbox holds at most ``WS_OUTBOX_MESSAGES`` frames, and a frame must be written within
``WS_SEND_TIMEOUT_S``: a client that stops reading is closed (1008), never buffered
without limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from kernel.events import Kind, ReviewEvent, ScoredReview, new_id
from kernel.languages import unscored_reason
from web.bus import BrokerUnavailable, EventBus
from web.client_meta import client_meta
from web.explanations import why
from web.messages import MessageError, SubmitMessage, field_errors, parse_client_message
from web.metrics import WebMetrics
from web.ratelimit import TokenBucket
from web.routing import ScoredRouter
from web.ws_guard import POLICY_VIOLATION, admit, release

#: Drafts awaiting a score per connection; older unanswered ones are forgotten first.
MAX_PENDING_DRAFTS = 64
#: How long the close frame to a client that stopped reading may wait for room in its socket.
STALLED_CLOSE_WAIT_S = 5.0


class ReviewSession:
    """State of one connection: its outbox, pending drafts and the newest seq shown."""

    def __init__(self, websocket: WebSocket) -> None:
        state = websocket.app.state
        self.websocket = websocket
        self.id = new_id()
        self.settings = state.settings
        self.bus: EventBus = state.bus
        self.router: ScoredRouter = state.router
        self.metrics: WebMetrics = state.metrics
        self.ip_key: bytes = state.ip_key
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=self.settings.ws_outbox_messages)
        #: Set when the outbox overflowed: the client stopped reading and is closed.
        self.stalled = asyncio.Event()
        self.frames = TokenBucket(self.settings.ws_max_drafts_per_s)
        self.told_over_rate = False
        self.pending_drafts: dict[str, tuple[int, float]] = {}
        self.last_sent_seq = -1

    def send(self, message: dict[str, Any]) -> None:
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:
            self.stalled.set()

    def error(self, reason: str, error: str, detail: Any = None) -> None:
        self.metrics.ws_rejected.labels(reason).inc()
        self.send({"type": "error", "error": error, "detail": detail})

    def on_scored(self, event: ScoredReview) -> None:
        """Called by the router for every scored event of this session."""
        if event.kind is Kind.draft:
            self._on_draft_score(event)
        else:
            self.send({
                "type": "stored", "id": event.id, "score": event.score, "label": event.label,
                "suggested_rating": event.suggested_rating, "rating": event.rating, "brand": event.brand,
                "reason": unscored_reason(event.language),
            })

    def _on_draft_score(self, event: ScoredReview) -> None:
        pending = self.pending_drafts.pop(event.id, None)
        if pending is None:
            return
        seq, sent_at = pending
        self.metrics.draft_latency.observe(time.monotonic() - sent_at)
        if seq < self.last_sent_seq:
            self.metrics.scores_stale.inc()
            return
        self.last_sent_seq = seq
        for draft_id, (older_seq, _) in list(self.pending_drafts.items()):
            if older_seq < seq:
                del self.pending_drafts[draft_id]
        self.metrics.scores_sent.inc()
        self.send({
            "type": "score", "seq": seq, "score": event.score, "probs": event.probs, "label": event.label,
            "suggested_rating": event.suggested_rating, "model_version": event.model_version,
            **why(event.text, event.language, event.explanation),
        })

    def over_rate(self) -> bool:
        """Take a token for one incoming frame; True (and one error frame per burst) when there is none."""
        if self.frames.allow():
            self.told_over_rate = False
            return False
        self.metrics.ws_rejected.labels("rate_limited").inc()
        if not self.told_over_rate:
            self.told_over_rate = True
            self.send({"type": "error", "error": f"more than {self.settings.ws_max_drafts_per_s:g} messages "
                       "per second; messages are dropped until you slow down", "detail": None})
        return True

    async def on_frame(self, text: str | None, data: bytes | None) -> None:
        """One websocket frame, text or binary: rate-limited first, then handled."""
        if self.over_rate():
            return
        if text is None:
            try:
                text = (data or b"").decode("utf-8")
            except UnicodeDecodeError:
                self.error("not_json", "binary frames must be UTF-8 JSON")
                return
        await self.handle(text)

    async def handle(self, raw: str) -> None:
        """Validate one client frame and act on it; every failure becomes an error frame."""
        if len(raw.encode("utf-8")) > self.settings.ws_max_message_bytes:
            self.error("too_large", f"message is over {self.settings.ws_max_message_bytes} bytes")
            return
        try:
            message = parse_client_message(raw)
        except MessageError as error:
            self.error(error.reason, str(error), error.detail)
            return
        if message.type == "ping":
            self.send({"type": "pong"})
            return
        try:
            if message.type == "draft":
                await self._publish_draft(message.text, message.seq, message.brand)
            else:
                await self._publish_review(message)
        except BrokerUnavailable as error:
            self.error("broker", str(error))
        except ValidationError as error:
            self.error("invalid", "message fields are invalid", field_errors(error))

    async def _publish_draft(self, text: str, seq: int, brand: str) -> None:
        event = ReviewEvent(
            kind=Kind.draft, text=text, brand=brand, session_id=self.id, source="web", meta={"seq": str(seq)}
        )
        self.pending_drafts[event.id] = (seq, time.monotonic())
        if len(self.pending_drafts) > MAX_PENDING_DRAFTS:  # answers the worker dropped (latest-wins)
            del self.pending_drafts[next(iter(self.pending_drafts))]
        try:
            await self.bus.publish(self.settings.topic_drafts, event)
        except BrokerUnavailable:
            self.pending_drafts.pop(event.id, None)
            raise
        self.metrics.drafts_published.inc()

    async def _publish_review(self, message: SubmitMessage) -> None:
        websocket = self.websocket
        meta = client_meta(
            websocket.headers.get("user-agent"), websocket.client.host if websocket.client else None,
            self.ip_key,
        )
        meta.update(message.extra_meta())
        event = ReviewEvent(
            kind=Kind.review, text=message.text, brand=message.brand, rating=message.rating,
            session_id=self.id, source="web", meta=meta,
        )
        await self.bus.publish(self.settings.topic_raw, event)
        self.metrics.reviews_submitted.labels("websocket").inc()
        self.send({"type": "accepted", "id": event.id})


async def review_socket(websocket: WebSocket) -> None:
    """The ``/ws`` endpoint."""
    if not await admit(websocket):
        return
    try:
        await websocket.accept()
        await _serve(websocket, ReviewSession(websocket))
    finally:
        release(websocket)


async def _serve(websocket: WebSocket, session: ReviewSession) -> None:
    session.router.add_session(session.id, session.on_scored)
    session.metrics.ws_connections.inc()
    session.send({"type": "hello", "session_id": session.id})
    tasks = {
        asyncio.create_task(_send_loop(websocket, session)),
        asyncio.create_task(_receive_loop(websocket, session)),
        asyncio.create_task(session.stalled.wait()),
    }
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        session.router.remove_session(session.id)
        session.metrics.ws_connections.dec()
    if session.stalled.is_set():
        session.metrics.ws_closed_slow.inc()
        with contextlib.suppress(Exception):  # TimeoutError too: then uvicorn drops the connection
            await asyncio.wait_for(
                websocket.close(code=POLICY_VIOLATION, reason="not reading: outbox full"), STALLED_CLOSE_WAIT_S
            )


async def _receive_loop(websocket: WebSocket, session: ReviewSession) -> None:
    try:
        while True:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                return
            await session.on_frame(frame.get("text"), frame.get("bytes"))
    except (WebSocketDisconnect, RuntimeError):
        return


async def _send_loop(websocket: WebSocket, session: ReviewSession) -> None:
    """Writes the outbox; a frame the client does not take within ``WS_SEND_TIMEOUT_S`` means it stalled."""
    try:
        while True:
            message = await session.outbox.get()
            await asyncio.wait_for(websocket.send_text(json.dumps(message)), session.settings.ws_send_timeout_s)
    except TimeoutError:
        session.stalled.set()
    except (WebSocketDisconnect, RuntimeError):
        return
