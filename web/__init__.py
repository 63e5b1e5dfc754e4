"""The web room: the Starlette app people use (review page, live feed, admin, REST API).

Other rooms use only :func:`create_app` (``reviewpulse run`` serves it); it is imported
lazily so that ``reviewpulse --help`` does not load Starlette and aiokafka.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from web.app import create_app

        return create_app
    raise AttributeError(name)
