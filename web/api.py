"""The REST API: predict, submit, list, random brand, stats, health and readiness.

Every score comes from the worker through Kafka (request-reply by event id); the web
process never loads the model. Errors are JSON ``{"error": ..., "field": ...}``.

``GET /api/reviews`` is public and read-only: the columns of ``web.privacy`` only (the
full rows, with user agent and session, are ``/admin``'s). Predict, review and reviews
are rate-limited per client (``web.http_limits``); ``POST /api/review`` takes only
``application/json``, which a cross-site HTML form cannot send.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from kernel.events import Kind, ReviewEvent, ScoredReview, new_id
from kernel.languages import is_scored
from stream.storage.dead_letters import dead_letter_reasons
from stream.storage.queries import list_reviews, stats
from web import json_body
from web.access import authorised
from web.brands import random_brand_card
from web.bus import BrokerUnavailable
from web.client_meta import client_meta
from web.explanations import why
from web.filters import BadInput, parse_filter, parse_flag, parse_page
from web.http_limits import check_rate
from web.messages import PredictBody, ReviewBody, ScoreDetail, field_errors
from web.privacy import public_review

BodyT = TypeVar("BodyT", bound=BaseModel)


def error_response(status: int, error: str, field: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"error": error}
    if field:
        body["field"] = field
    body.update(extra)
    return JSONResponse(body, status_code=status)


class UnsupportedMediaType(BadInput):
    """A body that is not ``application/json`` where only JSON is accepted (answered 415)."""


def require_json(request: Request) -> None:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType(
            "body", f"send the body as application/json (Content-Type was {media_type or 'missing'!r})"
        )


async def _body(request: Request, model: type[BodyT]) -> BodyT:
    try:
        data = json_body.loads(await request.body())
    except json_body.JsonError as error:
        raise BadInput("body", f"request body must be JSON, e.g. {{\"review\": \"...\"}} ({error})") from error
    if not isinstance(data, dict):
        raise BadInput("body", "request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = field_errors(error)[0]
        raise BadInput(first["field"], first["error"]) from error


def _flag(request: Request, name: str) -> bool:
    return parse_flag(request.query_params, name)


def score_detail(event: ScoredReview) -> dict[str, Any]:
    """The verdict and its "why" (``web.explanations``); no label nor rating for an unscored language."""
    shown = why(event.text, event.language, event.explanation)
    scored = shown["reason"] is None
    return ScoreDetail(score=event.score, probs=event.probs, label=event.label if scored else None,
                       suggested_rating=event.suggested_rating if scored else None,
                       model_version=event.model_version, **shown).model_dump()


async def predict(request: Request) -> JSONResponse:
    """``POST /api/predict {"review": "..."}`` -> the score (a float; null for a language the model does
    not read); ``?detail=1`` -> all of it, with the sentences that move the score and the language."""
    check_rate(request, "predict")
    body = await _body(request, PredictBody)
    state = request.app.state
    settings = state.settings
    event = ReviewEvent(kind=Kind.draft, text=body.review, session_id=f"predict-{new_id()}", source="api")
    try:
        scored = await state.replies.request(state.bus, settings.topic_drafts, event, settings.predict_timeout_s)
    except BrokerUnavailable as error:
        state.metrics.predictions.labels("broker_unavailable").inc()
        return error_response(503, str(error))
    except TimeoutError:
        state.metrics.predictions.labels("timeout").inc()
        return error_response(
            503, f"no scoring worker answered within {settings.predict_timeout_s} s; "
            "is `reviewpulse worker` running?"
        )
    state.metrics.predictions.labels("ok").inc()
    if _flag(request, "detail"):
        return JSONResponse(score_detail(scored))
    return JSONResponse(scored.score if is_scored(scored.language) else None)


async def submit_review(request: Request) -> JSONResponse:
    """``POST /api/review``: 202 {"id"} once Kafka has it; ``?wait=1`` answers 201 once it is stored."""
    check_rate(request, "review")
    require_json(request)
    body = await _body(request, ReviewBody)
    state = request.app.state
    settings = state.settings
    meta = client_meta(
        request.headers.get("user-agent"), request.client.host if request.client else None, state.ip_key
    )
    meta.update(body.extra_meta())
    event = ReviewEvent(kind=Kind.review, text=body.review, brand=body.brand, rating=body.rating,
                        source="api", meta=meta)
    wait = _flag(request, "wait")
    future = state.replies.expect(event.id) if wait else None
    try:
        await state.bus.publish(settings.topic_raw, event)
    except BrokerUnavailable as error:
        if future:
            state.replies.forget(event.id, future)
        return error_response(503, str(error))
    state.metrics.reviews_submitted.labels("api").inc()
    if future is None:
        return JSONResponse({"id": event.id}, status_code=202)
    try:
        scored = await state.replies.wait_for(event.id, future, settings.review_wait_timeout_s)
    except TimeoutError:
        return JSONResponse(
            {"id": event.id, "stored": False,
             "detail": f"accepted, but not stored within {settings.review_wait_timeout_s} s; it is queued "
                       "and will be stored when a worker runs"},
            status_code=202,
        )
    return JSONResponse({"id": event.id, "stored": True, **score_detail(scored)}, status_code=201)


async def reviews(request: Request) -> JSONResponse:
    """``GET /api/reviews``: newest first, filters, ``limit``/``offset`` or ``cursor``, total; public columns."""
    check_rate(request, "reviews")
    state = request.app.state
    flt = parse_filter(request.query_params)
    settings = state.settings
    page = parse_page(request.query_params, settings.api_max_page_rows, max_offset=settings.api_max_offset)
    try:
        result = await state.storage.run(
            list_reviews, state.storage, flt, page.limit, page.offset, page.cursor
        )
    except ValueError as error:
        raise BadInput("cursor", str(error)) from error
    return JSONResponse({
        "rows": [public_review(row) for row in result.rows], "total": result.total, "next_cursor": result.next_cursor,
        "limit": page.limit, "offset": 0 if page.cursor else page.offset,
    })


async def random_brand(request: Request) -> JSONResponse:
    """``GET /api/brands/random?exclude=NAME``."""
    card = await random_brand_card(request.app.state.storage, request.query_params.get("exclude"))
    if card is None:
        return error_response(404, "no brands yet: run `reviewpulse crawl` or restart to seed the catalogue")
    return JSONResponse(card)


async def stats_endpoint(request: Request) -> JSONResponse:
    """``GET /api/stats`` = ``stream.storage.queries.stats`` (used by ``reviewpulse stats`` under ``run``).

    With the registry token or an admin session it also gives the dead letters' reasons,
    grouped (``dead_letter_reasons``): operational detail, not for the public.
    """
    storage = request.app.state.storage
    figures = await storage.run(stats, storage)
    if await authorised(request):
        figures["dead_letter_reasons"] = await storage.run(dead_letter_reasons, storage)
    return JSONResponse(figures)


async def healthz(request: Request) -> JSONResponse:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """Readiness: Kafka answers a metadata request and ClickHouse a ping."""
    state = request.app.state
    broker = await state.bus.ping()
    storage = await state.storage.run(state.storage.ping)
    ready = broker and storage
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "broker": broker, "storage": storage},
        status_code=200 if ready else 503,
    )
