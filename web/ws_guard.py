"""Who may open a websocket: the ``Origin`` check and the connection caps.

A browser sends ``Origin`` with every websocket handshake, and a page on another site
could otherwise open ``/ws`` with the visitor's cookies (cross-site websocket
hijacking), so a present ``Origin`` must be ``PUBLIC_URL``'s (or, when that is empty,
match the ``Host`` the request came to). Tools that send no ``Origin`` are allowed: they
could send any header they like. Caps per process and per client address keep one
client (or many) from holding every socket; both /ws and /ws/live count.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.websockets import WebSocket

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
#: Close codes (RFC 6455): 1008 policy violation, 1013 try again later.
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


def _host_port(scheme: str, netloc: str) -> str:
    parts = urlsplit(f"{scheme}://{netloc}")
    port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    return f"{(parts.hostname or '').lower()}:{port}"


def origin_allowed(origin: str | None, host: str | None, public_url: str) -> bool:
    """True when the handshake's ``Origin`` may talk to us (see the module docstring)."""
    if origin is None:
        return True
    sent = urlsplit(origin)
    if sent.scheme not in ("http", "https") or not sent.netloc:
        return False  # "null" (sandboxed frames, file://) and anything odd
    if public_url:
        public = urlsplit(public_url)
        return (sent.scheme, _host_port(sent.scheme, sent.netloc)) == (
            public.scheme, _host_port(public.scheme, public.netloc)
        )
    # Without PUBLIC_URL the scheme is unknown behind a TLS proxy: compare host and port only,
    # reading a Host without a port as the origin scheme's default port.
    return bool(host) and _host_port(sent.scheme, sent.netloc) == _host_port(sent.scheme, str(host))


class ConnectionCaps:
    """Open connections per process and per client address (in memory, this process only).

    The websockets' caps here, every socket's in ``web.connection_guard``; ``unbounded_ips``
    (a trusted proxy's address) count toward the total only.
    """

    def __init__(self, max_total: int, max_per_ip: int, unbounded_ips: frozenset[str] = frozenset()) -> None:
        self.max_total = max_total
        self.max_per_ip = max_per_ip
        self.unbounded_ips = unbounded_ips
        self.total = 0
        self._per_ip: dict[str, int] = {}

    def acquire(self, ip: str) -> str | None:
        """None when the connection may open (then call :meth:`release`), else the reason it may not."""
        if self.total >= self.max_total:
            return "too_many_connections"
        if ip not in self.unbounded_ips and self._per_ip.get(ip, 0) >= self.max_per_ip:
            return "too_many_from_ip"
        self.total += 1
        self._per_ip[ip] = self._per_ip.get(ip, 0) + 1
        return None

    def release(self, ip: str) -> None:
        self.total -= 1
        left = self._per_ip.get(ip, 1) - 1
        if left > 0:
            self._per_ip[ip] = left
        else:
            self._per_ip.pop(ip, None)


def client_ip(websocket: WebSocket) -> str:
    return websocket.client.host if websocket.client else "unknown"


async def admit(websocket: WebSocket) -> bool:
    """Check origin and caps before ``accept``; a refused handshake is closed (HTTP 403) and counted.

    On True the caller must call ``release(websocket)`` when the connection ends.
    """
    state = websocket.app.state
    reason = None
    if not origin_allowed(websocket.headers.get("origin"), websocket.headers.get("host"), state.settings.public_url):
        reason = "origin"
    else:
        reason = state.ws_caps.acquire(client_ip(websocket))
    if reason is None:
        return True
    state.metrics.ws_refused.labels(reason).inc()
    await websocket.close(code=POLICY_VIOLATION if reason == "origin" else TRY_AGAIN_LATER)
    return False


def release(websocket: WebSocket) -> None:
    websocket.app.state.ws_caps.release(client_ip(websocket))
