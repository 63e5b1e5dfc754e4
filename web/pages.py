"""The HTML pages: the review page ``/`` and the live feed ``/live`` (admin lives in admin.py)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from stream.storage.queries import list_reviews, stats
from web.brands import random_brand_card
from web.privacy import public_review

LIVE_BACKLOG_ROWS = 100
DRAFT_DEBOUNCE_MS = 150


async def review_page(request: Request) -> Response:
    """A random brand card, the text area, the score bar and the stars."""
    state = request.app.state
    brand = await random_brand_card(state.storage)
    context = {"brand": brand, "debounce_ms": DRAFT_DEBOUNCE_MS}
    return state.templates.TemplateResponse(request, "index.html", context)


async def live_page(request: Request) -> Response:
    """The feed, with the newest stored reviews (public columns only), the totals and the brand banner
    (``web.alerts``) as its starting point."""
    state = request.app.state
    storage = state.storage
    recent = await storage.run(list_reviews, storage, None, LIVE_BACKLOG_ROWS)
    totals = await storage.run(stats, storage)
    initial = {"reviews": [public_review(row) for row in reversed(recent.rows)], "stats": totals,
               "alerts": state.router.live.alerts}
    return state.templates.TemplateResponse(request, "live.html", {"initial": initial})
