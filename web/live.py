"""The live feed's fan-out: every stored review goes to every viewer of ``/live``.

Each viewer has a bounded buffer that drops its OLDEST message when full, so a slow
or stalled browser costs at most ``live_buffer_messages`` messages of memory and sees
the newest reviews when it catches up; the server never queues without bound. A viewer
that takes no frame for ``WS_SEND_TIMEOUT_S`` has stopped reading and is closed.

Alerts for the banner (``web.alerts``) are not queued with the reviews: each viewer keeps
only the newest list, sent as ``{"type": "alerts", "alerts": [...]}``, and a viewer that
joins is sent the current one, so no flood of reviews can push a banner out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from kernel.events import ScoredReview
from web.ws_guard import POLICY_VIOLATION, admit, release


def live_message(event: ScoredReview) -> dict[str, Any]:
    """What a viewer receives about one stored review (text is rendered as text by the page).

    Public, like ``web.privacy``: no session id, user agent, IP hash or ``meta``.
    """
    return {
        "type": "review",
        "id": event.id,
        "kind": str(event.kind),
        "source": event.source,
        "brand": event.brand,
        "text": event.text[:2000],
        "rating": event.rating,
        "score": round(event.score, 4),
        "label": event.label,
        "suggested_rating": event.suggested_rating,
        "ts": event.ts.isoformat(),
        "scored_at": event.scored_at.isoformat(),
    }


class LiveViewer:
    """One viewer's buffer: ``put`` never blocks, ``get_batch`` waits for something to send."""

    def __init__(self, max_messages: int, on_drop: Callable[[], None] | None = None) -> None:
        self._buffer: deque[dict[str, Any]] = deque(maxlen=max_messages)
        self._ready = asyncio.Event()
        self._on_drop = on_drop
        self.dropped = 0
        self._alerts: list[dict[str, Any]] | None = None

    def put_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """Replace the banner this viewer has not been sent yet (never blocks, never queues)."""
        self._alerts = alerts
        self._ready.set()

    def take_alerts(self) -> list[dict[str, Any]] | None:
        """The newest banner not sent yet, or None."""
        alerts, self._alerts = self._alerts, None
        return alerts

    def put(self, message: dict[str, Any]) -> None:
        if len(self._buffer) == self._buffer.maxlen:
            self.dropped += 1
            if self._on_drop:
                self._on_drop()
        self._buffer.append(message)
        self._ready.set()

    async def get_batch(self) -> list[dict[str, Any]]:
        """Every review buffered so far (empty when only a banner woke it: :meth:`take_alerts`)."""
        await self._ready.wait()
        batch = list(self._buffer)
        self._buffer.clear()
        self._ready.clear()
        return batch

    def __len__(self) -> int:
        return len(self._buffer)


class LiveHub:
    """The set of connected viewers of this process."""

    def __init__(self, max_messages: int, on_drop: Callable[[], None] | None = None) -> None:
        self.max_messages = max_messages
        self._on_drop = on_drop
        self._viewers: set[LiveViewer] = set()
        #: the banner's alerts now (``web.alerts.BrandBanner`` sets them)
        self.alerts: list[dict[str, Any]] = []

    def join(self) -> LiveViewer:
        viewer = LiveViewer(self.max_messages, self._on_drop)
        if self.alerts:
            viewer.put_alerts(self.alerts)
        self._viewers.add(viewer)
        return viewer

    def leave(self, viewer: LiveViewer) -> None:
        self._viewers.discard(viewer)

    def publish(self, event: ScoredReview) -> None:
        message = live_message(event)
        for viewer in self._viewers:
            viewer.put(message)

    def publish_alerts(self, alerts: list[dict[str, Any]]) -> None:
        self.alerts = alerts
        for viewer in self._viewers:
            viewer.put_alerts(alerts)

    def __len__(self) -> int:
        return len(self._viewers)


async def live_socket(websocket: WebSocket) -> None:
    """``/ws/live``: pushes ``{"type":"reviews","reviews":[...],"dropped":N}`` batches."""
    if not await admit(websocket):
        return
    try:
        await _serve_viewer(websocket)
    finally:
        release(websocket)


async def _serve_viewer(websocket: WebSocket) -> None:
    hub: LiveHub = websocket.app.state.router.live
    metrics = websocket.app.state.metrics
    await websocket.accept()
    viewer = hub.join()
    metrics.live_viewers.inc()
    receiver = asyncio.create_task(_drain_client(websocket))
    try:
        while not receiver.done():
            getter = asyncio.create_task(viewer.get_batch())
            done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                break
            await _send(websocket, viewer, getter.result())
    except TimeoutError:  # the viewer stopped reading: close it rather than hold its socket for ever
        metrics.ws_closed_slow.inc()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(websocket.close(code=POLICY_VIOLATION, reason="not reading"), 1.0)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        receiver.cancel()
        hub.leave(viewer)
        metrics.live_viewers.dec()


async def _send(websocket: WebSocket, viewer: LiveViewer, batch: list[dict[str, Any]]) -> None:
    timeout_s = websocket.app.state.settings.ws_send_timeout_s
    alerts = viewer.take_alerts()
    if alerts is not None:
        await asyncio.wait_for(websocket.send_json({"type": "alerts", "alerts": alerts}), timeout_s)
    if batch:
        message = {"type": "reviews", "reviews": batch, "dropped": viewer.dropped}
        await asyncio.wait_for(websocket.send_json(message), timeout_s)


async def _drain_client(websocket: WebSocket) -> None:
    """Viewers send nothing we need; reading notices when they leave."""
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
    except (WebSocketDisconnect, RuntimeError):
        return
