"""A stand-in web app for ``reviewpulse run`` when ``web.app`` cannot be imported.

Serves only what the streaming tests and ``reviewpulse stats`` need: ``/healthz``,
``GET /api/reviews?limit=&offset=`` and ``GET /api/stats``. The real UI is ``web.app``.
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from reviewpulse.settings import Settings
from stream.queries import list_reviews, stats
from stream.storage import Storage

MAX_LIMIT = 500


def create_minimal_app(settings: Settings, storage: Storage) -> Starlette:
    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def reviews(request: Request) -> JSONResponse:
        try:
            limit = int(request.query_params.get("limit", "50"))
            offset = int(request.query_params.get("offset", "0"))
        except ValueError:
            return JSONResponse({"error": "limit and offset must be integers"}, status_code=422)
        if not (1 <= limit <= MAX_LIMIT and offset >= 0):
            return JSONResponse({"error": f"limit must be 1..{MAX_LIMIT}, offset >= 0"}, status_code=422)
        page = await storage.run(list_reviews, storage, None, limit, offset)
        body: dict[str, Any] = {"rows": page.rows, "total": page.total, "next_cursor": page.next_cursor}
        return JSONResponse(body)

    async def stats_endpoint(request: Request) -> JSONResponse:
        return JSONResponse(await storage.run(stats, storage))

    return Starlette(routes=[
        Route("/healthz", healthz), Route("/api/reviews", reviews), Route("/api/stats", stats_endpoint),
    ])
