"""``/admin``: a password login, then a paginated, filterable table of stored reviews and CSV export.

The password hash comes from ``ADMIN_PASSWORD_HASH`` (``reviewpulse hash-password``);
an empty one disables the admin. Sessions are signed cookies (``SESSION_SECRET``),
``Secure`` unless ``SECURE_COOKIES=false``, holding a fingerprint of the password hash
(a new password ends every session) and a random session id (a logout ends that session
on every replica: ``stream.storage.admin_sessions``). Failed logins are limited per client address
and for all clients together (behind a proxy many people share one address). The
pbkdf2 check (~0.2 s of CPU) runs on a worker thread, one at a time, so it neither
stalls the event loop (every websocket) nor lets a burst of guesses run in parallel.
"""

from __future__ import annotations

import csv
import hmac
import io
import secrets
from collections.abc import AsyncIterator
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from stream.storage.admin_sessions import end_session, session_ended
from stream.storage.queries import LIST_COLUMNS, ReviewFilter, list_reviews
from web.explanations import row_why
from web.filters import LABELS, BadInput, PageRequest, filter_query, parse_filter, parse_page
from web.passwords import verify_password
from web.ratelimit import FailureWindow

PAGE_ROWS = 50
EXPORT_CHUNK_ROWS = 1000
#: The listed columns, the stored explanation as the two sentences it highlights (web.explanations.row_why).
CSV_COLUMNS = [column.strip() for column in LIST_COLUMNS.split(",") if column.strip() != "explanation"] + [
    "pulls_down", "pulls_up", "sentences_left_out", "unscored_reason"]
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


async def logged_in(request: Request) -> bool:
    """A session from a login with the current password (``passwords.session_fingerprint``), not logged out."""
    state = request.app.state
    current = state.admin_fingerprint
    stored, session_id = request.session.get("admin"), request.session.get("sid")
    if not (current and isinstance(stored, str) and hmac.compare_digest(stored, current)):
        return False
    if not isinstance(session_id, str) or session_id in state.ended_sessions:
        return False
    return not await state.storage.run(session_ended, state.storage, session_id)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/admin/login?{urlencode({'next': target})}", status_code=303)


def _password_hash(request: Request) -> str:
    return request.app.state.settings.admin_password_hash.get_secret_value()


def _safe_next(target: str | None) -> str:
    """Only local admin paths, so the login cannot be used as an open redirect."""
    return target if target and target.startswith("/admin") and not target.startswith("//") else "/admin"


async def login_page(request: Request) -> Response:
    templates = request.app.state.templates
    if not _password_hash(request):
        return templates.TemplateResponse(request, "login.html", {"disabled": True}, status_code=503)
    target = _safe_next(request.query_params.get("next"))
    return templates.TemplateResponse(request, "login.html", {"next": target})


def _retry_after_s(request: Request, ip: str) -> int | None:
    """Seconds until a login may be tried again, or None when neither limit is reached."""
    state = request.app.state
    windows: list[tuple[FailureWindow, str]] = [(state.login_failures, ip), (state.login_failures_global, "*")]
    waits = [window.retry_after_s(key) for window, key in windows if window.blocked(key)]
    return int(max(waits)) + 1 if waits else None


async def login(request: Request) -> Response:
    """``POST /admin/login`` (form: password, next)."""
    state = request.app.state
    templates = state.templates
    encoded = _password_hash(request)
    if not encoded:
        return templates.TemplateResponse(request, "login.html", {"disabled": True}, status_code=503)
    ip = request.client.host if request.client else "unknown"
    form = await request.form()
    target = _safe_next(str(form.get("next") or ""))
    correct = False
    async with state.login_lock:  # one check at a time: the limits hold even for a burst
        wait_s = _retry_after_s(request, ip)
        if wait_s is None:
            correct = await run_in_threadpool(verify_password, str(form.get("password") or ""), encoded)
            if not correct:
                state.login_failures.record_failure(ip)
                state.login_failures_global.record_failure("*")
    if wait_s is not None:
        return templates.TemplateResponse(
            request, "login.html",
            {"error": f"Too many failed logins; try again in {wait_s} s.", "next": target},
            status_code=429, headers={"Retry-After": str(wait_s)},
        )
    if not correct:
        state.metrics.login_failures.inc()
        return templates.TemplateResponse(
            request, "login.html", {"error": "Wrong password.", "next": target}, status_code=401
        )
    state.login_failures.reset(ip)
    request.session.clear()
    request.session["admin"] = state.admin_fingerprint
    request.session["sid"] = secrets.token_urlsafe(18)
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    """Ends the session for every replica (``stream.storage.admin_sessions``), not only in this browser."""
    session_id = request.session.get("sid")
    request.session.clear()
    if isinstance(session_id, str):
        state = request.app.state
        state.ended_sessions.add(session_id)
        await state.storage.run(end_session, state.storage, session_id)
    return RedirectResponse("/admin/login", status_code=303)


async def admin_page(request: Request) -> Response:
    """``GET /admin``: the filter form and one page of reviews (offset pagination)."""
    if not await logged_in(request):
        return login_redirect(request)
    state = request.app.state
    error = None
    try:
        flt = parse_filter(request.query_params)
        page = parse_page(
            request.query_params, state.settings.api_max_page_rows, PAGE_ROWS, state.settings.api_max_offset
        )
        result = await state.storage.run(list_reviews, state.storage, flt, page.limit, page.offset)
    except BadInput as bad:
        error, flt, page, result = str(bad), ReviewFilter(), PageRequest(PAGE_ROWS, 0, None), None
    query = filter_query(flt)
    context = {
        "rows": [row_why(row) for row in result.rows] if result else [], "total": result.total if result else 0,
        "error": error,
        "params": request.query_params, "labels": LABELS, "limit": page.limit, "offset": page.offset,
        "prev_link": f"/admin?{urlencode({**query, 'offset': max(page.offset - page.limit, 0)})}",
        "next_link": f"/admin?{urlencode({**query, 'offset': page.offset + page.limit})}",
        "csv_link": f"/admin/reviews.csv?{urlencode(query)}",
    }
    return state.templates.TemplateResponse(request, "admin.html", context)


def _csv_cell(value: object) -> object:
    """Neutralise spreadsheet formulas in text cells (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return "" if value is None else value


async def export_csv(request: Request) -> Response:
    """``GET /admin/reviews.csv``: every review matching the current filter, newest first."""
    if not await logged_in(request):
        return login_redirect(request)
    state = request.app.state
    flt = parse_filter(request.query_params)

    async def rows() -> AsyncIterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        cursor = None
        while True:
            page = await state.storage.run(list_reviews, state.storage, flt, EXPORT_CHUNK_ROWS, 0, cursor)
            for row in map(row_why, page.rows):
                writer.writerow([_csv_cell(row.get(column)) for column in CSV_COLUMNS])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            cursor = page.next_cursor
            if not cursor:
                return

    return StreamingResponse(
        rows(), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="reviews.csv"'},
    )
