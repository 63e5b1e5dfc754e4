"""``/admin/dead-letters``: what the worker refused and why, with the raw message (admin session).

Filterable by topic, by text in the reason or the raw message, and by date; newest
first, paginated. The raw message is shown as text, escaped (HTML in it is shown, never
run); bytes that were not UTF-8 are stored base64 and shown so.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from stream.storage.dead_letters import DeadLetterFilter, dead_letter_reasons, list_dead_letters
from web.admin import logged_in, login_redirect
from web.filters import BadInput, parse_datetime, parse_page

PAGE_ROWS = 50
#: Characters of a raw message shown (the table keeps up to 64,000 bytes).
RAW_SHOWN_CHARS = 2000


def parse_dead_letter_filter(request: Request) -> DeadLetterFilter:
    params = request.query_params
    since = parse_datetime("since", params["since"]) if params.get("since") else None
    return DeadLetterFilter(topic=params.get("topic", "").strip(), q=params.get("q", "").strip()[:200], since=since)


async def dead_letters_page(request: Request) -> Response:
    if not await logged_in(request):
        return login_redirect(request)
    state = request.app.state
    error, rows, total = None, [], 0
    flt = DeadLetterFilter()
    page = parse_page(request.query_params, state.settings.api_max_page_rows, PAGE_ROWS, state.settings.api_max_offset)
    try:
        flt = parse_dead_letter_filter(request)
        rows, total = await state.storage.run(list_dead_letters, state.storage, flt, page.limit, page.offset)
    except BadInput as bad:
        error = str(bad)
    reasons = await state.storage.run(dead_letter_reasons, state.storage)
    query = {key: value for key, value in (("topic", flt.topic), ("q", flt.q),
                                           ("since", request.query_params.get("since", ""))) if value}
    context = {
        "rows": rows, "total": total, "reasons": reasons, "error": error, "params": request.query_params,
        "offset": page.offset, "limit": page.limit, "raw_chars": RAW_SHOWN_CHARS,
        "prev_link": f"/admin/dead-letters?{urlencode({**query, 'offset': max(page.offset - page.limit, 0)})}",
        "next_link": f"/admin/dead-letters?{urlencode({**query, 'offset': page.offset + page.limit})}",
    }
    return state.templates.TemplateResponse(request, "dead_letters.html", context)
