"""``/api/models``: the model registry over HTTP, for ``reviewpulse.system_client.HttpRegistry``.

Not public. Every endpoint (reads too: they show artefact paths) needs either
``Authorization: Bearer <REGISTRY_TOKEN>`` — ``reviewpulse run`` makes a random token per
start and writes it to run.json (mode 0600), so commands of the same user on the same
machine can use it — or an admin session (``/admin`` login). POSTs take only
``application/json``, which a cross-site form cannot send.

* ``GET /api/models`` -> ``{"models": [...], "active": {...}, "history": [...], "shadow": [...]}``
  (shadow: per candidate, ``stream.storage.shadow_figures.agreement``)
* ``GET /api/models/{version}`` -> the record, 404 when unknown
* ``POST /api/models`` (a ModelRecord as JSON) -> 201: registered as a candidate
* ``POST /api/models/promote {"version", "by", "note"}`` and ``POST /api/models/rollback {"by", "note"}``
  -> the now active record; the server publishes the switch to ``models.control``.
"""

from __future__ import annotations

from typing import Any

from clickhouse_connect.driver.exceptions import DatabaseError
from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse

from stream.registry.store import ControlNotPublished, ModelRecord, Registry
from web import json_body
from web.access import authorised, unauthorised
from web.api import error_response, require_json
from web.messages import PromoteBody, RollbackBody

#: A ModelRecord's fields and their types, checked before the record is built (and what the spec shows).
RECORD = TypeAdapter(ModelRecord)


def registry_for(request: Request) -> Registry:
    """The registry the root handed to ``create_app``."""
    registry: Registry = request.app.state.registry
    return registry


async def _body(request: Request) -> dict[str, Any]:
    require_json(request)
    try:
        data = json_body.loads(await request.body())
    except json_body.JsonError as error:
        raise ValueError(f"request body must be JSON ({error})") from error
    if not isinstance(data, dict):
        raise ValueError("request body must be a JSON object")
    return data



async def _answer(request: Request, call: Any, *args: Any, status: int = 200) -> JSONResponse:
    if not await authorised(request):
        return unauthorised()
    registry = registry_for(request)
    try:
        result = await request.app.state.storage.run(call(registry), *args)
    except ValueError as error:
        return error_response(404 if "unknown model version" in str(error) else 400, str(error))
    except ControlNotPublished as error:
        return error_response(503, str(error))
    except DatabaseError as error:  # e.g. a scaled-out web user without the registry grants
        return error_response(503, f"ClickHouse refused the registry change ({str(error)[:300]}); the web's "
                                   "ClickHouse user needs INSERT on models and model_promotions "
                                   "(deploy/clickhouse/users.d/reviewpulse.xml)")
    return JSONResponse(result, status_code=status)


async def list_models(request: Request) -> JSONResponse:
    def overview(registry: Registry) -> Any:
        return lambda: {"models": [m.to_dict() for m in registry.list()], "active": registry.active().to_dict(),
                        "history": registry.history(), "shadow": registry.shadow()}
    return await _answer(request, overview)


async def get_model(request: Request) -> JSONResponse:
    version = request.path_params["version"]

    def one(registry: Registry) -> Any:
        def get() -> Any:
            record = registry.get(version)
            if record is None:
                raise ValueError(f"unknown model version {version!r}")
            return record.to_dict()
        return get
    return await _answer(request, one)


async def register_model(request: Request) -> JSONResponse:
    if not await authorised(request):
        return unauthorised()
    try:
        body = await _body(request)
        RECORD.validate_python(body)  # the types /openapi.json gives; ValidationError is a ValueError
        record = ModelRecord.from_dict(body)
    except (TypeError, ValueError) as error:
        return error_response(400, f"not a model record: {error}")
    return await _answer(request, lambda r: lambda: (r.register(record), record.to_dict())[1], status=201)


async def promote_model(request: Request) -> JSONResponse:
    if not await authorised(request):
        return unauthorised()
    try:
        body = PromoteBody.model_validate(await _body(request))
    except ValueError as error:
        return error_response(400, str(error))
    return await _answer(request, lambda r: lambda: r.promote(body.version, body.by or "api", body.note).to_dict())


async def rollback_model(request: Request) -> JSONResponse:
    if not await authorised(request):
        return unauthorised()
    try:
        body = RollbackBody.model_validate(await _body(request))
    except ValueError as error:
        return error_response(400, str(error))
    return await _answer(request, lambda r: lambda: r.rollback(body.by or "api", body.note).to_dict())
