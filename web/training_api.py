"""``GET /api/training/rows``: labelled reviews for ``reviewpulse retrain`` while ``run`` holds chDB.

Not public (it returns every labelled review's text): the same ``Authorization: Bearer
<registry_token>`` as ``/api/models`` (run.json), or an admin session. Parameters:
``source`` (repeatable), ``since`` (ISO date or datetime, UTC; stored since), ``limit``
(at most ``RETRAIN_MAX_ROWS``). Answers ``{"rows": [{text, rating, source, weight, admin}]}``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from stream.storage.labelled import labelled_rows
from web.access import authorised, unauthorised
from web.filters import parse_datetime, parse_int


async def training_rows(request: Request) -> JSONResponse:
    if not await authorised(request):
        return unauthorised()
    settings = request.app.state.settings
    params = request.query_params
    since = parse_datetime("since", params["since"]) if params.get("since") else None
    limit = parse_int(params, "limit", settings.retrain_max_rows, 1, settings.retrain_max_rows)
    storage = request.app.state.storage
    rows = await storage.run(labelled_rows, storage, params.getlist("source") or None, since, limit,
                             settings.admin_label_weight)
    return JSONResponse({"rows": rows})
