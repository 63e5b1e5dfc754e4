"""How uvicorn must serve the web app: the options ``reviewpulse web`` and ``reviewpulse run`` share.

``ws_max_size`` makes the server itself close a websocket (1009) whose message is over
``WS_MAX_MESSAGE_BYTES`` before buffering it (the app checks again, for other servers).
``X-Forwarded-For`` is believed only from ``TRUSTED_PROXIES``: every per-client limit and
the IP hash use the address uvicorn reports. Connections are bounded in time and number at
the socket by ``web.connection_guard``.
"""

from __future__ import annotations

from typing import Any

from kernel.settings import Settings
from web.connection_guard import guarded_protocol


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config`` / ``uvicorn.run`` (one server each: the connection budget is its own)."""
    return {
        "http": guarded_protocol(settings),
        "ws_max_size": settings.ws_max_message_bytes,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.trusted_proxies or "",
    }
