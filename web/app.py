"""``create_app(settings, storage)``: the Starlette application (routes, middleware, lifespan).

The lifespan seeds the brand catalogue when ClickHouse has none, starts/stops the
event bus it is given (``web.bus``: Kafka in production, in memory in tests) and runs the
``/live`` banner's "brand turns bad" check (``web.alerts``) beside the background jobs. The app
never loads the model: scores arrive from the worker on ``reviews.scored`` and are routed
by ``web.routing.ScoredRouter``. Every query it runs
goes through :class:`web.query_limits.LimitedStorage`; the limits on requests and
websockets are listed in docs/reliability-and-security.md.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from kernel.events import ScoredReview
from kernel.settings import Settings
from stream.registry.store import Registry
from web import admin, api, brand_page, dead_letters, labels, models_api, pages, quality, training_api
from web.alerts import BrandBanner, alerts_endpoint
from web.brands import seed_brands
from web.bus import EventBus
from web.client_meta import ip_hash_key
from web.connection_guard import limit_accept_error_logs
from web.filters import BadInput
from web.headers import SecurityHeadersMiddleware
from web.http_limits import BodyLimitMiddleware, TooManyRequests, rate_limiters
from web.live import LiveHub, live_socket
from web.metrics import WebMetrics, metrics_endpoint
from web.openapi import openapi_json
from web.passwords import parse_hash, session_fingerprint
from web.query_limits import LimitedStorage, QueryOverLimit
from web.ratelimit import FailureWindow
from web.replies import Replies
from web.routing import ScoredRouter
from web.websocket import review_socket
from web.ws_guard import ConnectionCaps

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
SESSION_MAX_AGE_S = 8 * 3600
Endpoint = Callable[[Request], Awaitable[Response]]


def _by_method(path: str, get: Endpoint, post: Endpoint) -> Route:
    """One route for a path with a GET and a POST, so a 405 for another method lists both in ``Allow``."""
    async def endpoint(request: Request) -> Response:
        return await (post if request.method == "POST" else get)(request)

    return Route(path, endpoint, methods=["GET", "POST"])


def _routes() -> list[Route | WebSocketRoute | Mount]:
    return [
        Route("/", pages.review_page),
        Route("/live", pages.live_page),
        Route("/admin", admin.admin_page),
        _by_method("/admin/login", get=admin.login_page, post=admin.login),
        Route("/admin/logout", admin.logout, methods=["POST"]),
        Route("/admin/reviews.csv", admin.export_csv),
        _by_method("/admin/labels", get=labels.label_queue_page, post=labels.set_label_action),
        Route("/admin/models", quality.model_quality_page),
        Route("/admin/dead-letters", dead_letters.dead_letters_page),
        Route("/admin/brands/{brand:path}", brand_page.brand_page),  # :path: a brand's name may hold a '/'
        Route("/api/training/rows", training_api.training_rows),
        Route("/api/predict", api.predict, methods=["POST"]),
        Route("/api/review", api.submit_review, methods=["POST"]),
        Route("/api/reviews", api.reviews),
        Route("/api/brands/random", api.random_brand),
        Route("/api/stats", api.stats_endpoint),
        Route("/api/alerts", alerts_endpoint),
        _by_method("/api/models", get=models_api.list_models, post=models_api.register_model),
        Route("/api/models/promote", models_api.promote_model, methods=["POST"]),
        Route("/api/models/rollback", models_api.rollback_model, methods=["POST"]),
        Route("/api/models/{version}", models_api.get_model, methods=["GET"]),
        Route("/healthz", api.healthz),
        Route("/readyz", api.readyz),
        Route("/metrics", metrics_endpoint),
        Route("/openapi.json", openapi_json),
        WebSocketRoute("/ws", review_socket),
        WebSocketRoute("/ws/live", live_socket),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]


async def _bad_input(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadInput)
    status = 415 if isinstance(exc, api.UnsupportedMediaType) else 422
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.message, "field": exc.field}, status_code=status)
    return PlainTextResponse(str(exc), status_code=status)


async def _too_many(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TooManyRequests)
    wait_s = str(max(int(exc.retry_after_s + 0.999), 1))
    return JSONResponse({"error": str(exc)}, status_code=429, headers={"Retry-After": wait_s})


async def _over_limit(request: Request, exc: Exception) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": str(exc)}, status_code=503)
    return PlainTextResponse(str(exc), status_code=503)


async def _invalid_event(request: Request, exc: Exception) -> Response:
    """An event the schema refuses (a field the request body could not check on its own) is the client's fault."""
    assert isinstance(exc, ValidationError)
    errors = [{"field": ".".join(str(p) for p in error["loc"]), "error": error["msg"]} for error in exc.errors()]
    return JSONResponse({"error": "the review is not valid", "fields": errors}, status_code=422)


async def _client_gone(request: Request, exc: Exception) -> Response:
    """A client that went away in the middle of its request: one INFO line, not an ERROR traceback (nobody to answer)."""
    client = request.client.host if request.client else "?"
    log.info("client %s went away during %s %s", client, request.method, request.url.path)
    return Response(status_code=499)


EXCEPTION_HANDLERS = {
    BadInput: _bad_input, TooManyRequests: _too_many, QueryOverLimit: _over_limit, ValidationError: _invalid_event,
    ClientDisconnect: _client_gone,
}


def _secret(value: str, what: str) -> str:
    if value:
        return value
    log.warning("%s is empty: using a random one for this process (set it when running replicas)", what)
    return secrets.token_urlsafe(32)


def create_app(
    settings: Settings, raw_storage: Any, bus: EventBus, registry: Registry, *,
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = (),
    stored_observers: Sequence[Callable[[ScoredReview], None]] = (),
    retraining: Callable[[], dict[str, Any]] | None = None,
) -> Starlette:
    """The web app over ``raw_storage`` (a ``stream.storage.clickhouse.Storage``) and ``bus`` (a ``web.bus.EventBus``).

    ``registry`` is the model registry the admin pages and ``/api/models`` read and change
    (the root builds it over the same storage, publishing promotes to ``models.control``).

    ``background`` coroutines run for the app's lifetime (cancelled at shutdown) and every
    stored review is handed to each of ``stored_observers``: the composition root passes
    the Grafana Live pusher and the automatic retrainer, so this room imports neither.
    ``retraining`` returns the automatic retrainer's status for ``/admin/models`` (None: it is off).
    """
    password_hash = settings.admin_password_hash.get_secret_value()
    if password_hash:
        parse_hash(password_hash)
    storage = LimitedStorage(raw_storage, settings.web_query_timeout_s, settings.web_query_max_memory_bytes)
    metrics = WebMetrics()
    replies = Replies()
    router = ScoredRouter(metrics, LiveHub(settings.live_buffer_messages, on_drop=metrics.live_dropped.inc),
                          replies, stored_observers)
    bus.subscribe(settings.topic_scored, router.route)
    banner = BrandBanner(settings, storage, router.live)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        limit_accept_error_logs(asyncio.get_running_loop())
        await seed_brands(raw_storage)  # start-up, not a client's query: no web limits
        try:
            await bus.start()
        except Exception as error:
            await bus.stop()
            raise RuntimeError(f"cannot reach Kafka at {settings.kafka_bootstrap}: {error}") from error
        tasks = [asyncio.create_task(job()) for job in (*background, banner.run)]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await bus.stop()
            replies.cancel_all()

    session_secret = _secret(settings.session_secret.get_secret_value(), "SESSION_SECRET")
    middleware = [
        Middleware(SecurityHeadersMiddleware),
        Middleware(BodyLimitMiddleware, max_bytes=settings.http_max_body_bytes),
        Middleware(
            SessionMiddleware, secret_key=session_secret, session_cookie="reviewpulse_session",
            max_age=SESSION_MAX_AGE_S, same_site="lax", https_only=settings.secure_cookies,
        ),
    ]
    app = Starlette(
        routes=_routes(), middleware=middleware, lifespan=lifespan, exception_handlers=EXCEPTION_HANDLERS
    )
    app.state.settings = settings
    app.state.storage = storage
    app.state.bus = bus
    app.state.registry = registry
    app.state.retraining = retraining
    app.state.router = router
    app.state.replies = replies
    app.state.metrics = metrics
    app.state.templates = Jinja2Templates(directory=HERE / "templates")
    app.state.ip_key = ip_hash_key(settings.ip_hash_salt.get_secret_value(), settings.data_dir)
    app.state.login_failures = FailureWindow(settings.admin_login_attempts, settings.admin_login_window_s)
    app.state.login_failures_global = FailureWindow(
        settings.admin_login_global_attempts, settings.admin_login_window_s
    )
    app.state.login_lock = asyncio.Lock()
    #: Sessions this process ended, refused at once (the table tells the other replicas).
    app.state.ended_sessions = set()
    app.state.admin_fingerprint = session_fingerprint(password_hash, session_secret) if password_hash else ""
    app.state.rate_limiters = rate_limiters(settings.api_requests_per_s, settings.api_burst)
    app.state.ws_caps = ConnectionCaps(settings.ws_max_connections, settings.ws_max_connections_per_ip)
    return app
