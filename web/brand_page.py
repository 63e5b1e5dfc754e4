"""``/admin/brands/{brand}``: one brand's story for the admin — volume, mix, its category, complaints and praise.

Admin-only. The period is ``days`` days up to ``until`` (default: the last 30 days up to now),
on the reviews' own dates (``ts``); the previous period is as long, just before. The figures
are the storage room's (``stream.storage.brand_story``, ``stream.storage.brand_words``), the
same SQL the Grafana Brand dashboard runs, here with bound parameters. A brand no review
names and the catalogue does not list is a 404 that says so.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from stream.storage.brand_story import BrandPeriod, brand_category, brand_known, comparison, daily
from stream.storage.brand_words import top_terms
from web.admin import logged_in, login_redirect
from web.filters import EARLIEST, LATEST, parse_datetime, parse_int

DEFAULT_DAYS = 30
MAX_DAYS = 3660
TERMS_SHOWN = 20


def parse_period(brand: str, params: QueryParams) -> BrandPeriod:
    """``days`` (1..MAX_DAYS) up to ``until`` (a date includes that day; absent: now); BadInput names a bad one."""
    days = parse_int(params, "days", DEFAULT_DAYS, 1, MAX_DAYS)
    raw = params.get("until", "")
    until = parse_datetime("until", raw) if raw else datetime.now(UTC)
    if len(raw) == 10:  # a bare date: up to the end of that day
        until = min(until + timedelta(days=1), LATEST)
    return BrandPeriod(brand, max(until - timedelta(days=days), EARLIEST), until)


def load_story(storage: Any, period: BrandPeriod) -> dict[str, Any] | None:
    """Everything the page shows (None: an unknown brand); runs on the storage thread."""
    if not brand_known(storage, period.brand):
        return None
    category = brand_category(storage, period.brand)
    return {"category": category, "daily": daily(storage, period), "comparison": comparison(storage, period, category),
            "complaints": top_terms(storage, period, "bad", TERMS_SHOWN),
            "praise": top_terms(storage, period, "good", TERMS_SHOWN)}


async def brand_page(request: Request) -> Response:
    if not await logged_in(request):
        return login_redirect(request)
    state = request.app.state
    brand = request.path_params["brand"]
    period = parse_period(brand, request.query_params)  # BadInput: 422 naming the parameter
    story = await state.storage.run(load_story, state.storage, period)
    context = {"brand": brand, "period": period, "days": (period.until - period.since).days,
               "until": (period.until - timedelta(microseconds=1)).date().isoformat(), "story": story,
               "reviews_link": "/admin?" + str(QueryParams({"brand": brand})),
               "bad_link": "/admin?" + str(QueryParams({"brand": brand, "label": "bad"}))}
    return state.templates.TemplateResponse(request, "brand.html", context, status_code=200 if story else 404)
