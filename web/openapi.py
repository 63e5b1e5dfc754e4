"""The OpenAPI 3.1 description served at ``/openapi.json``, built from what the handlers use.

Request and response bodies are the pydantic models the handlers validate with and
answer in (``web.messages``, ``stream.registry.store.ModelRecord``), so a changed field
or limit changes the spec with it; the body and rate limits come from the settings the
app runs with. ``tests/unit/web/test_openapi.py`` checks that every route the app
serves is described here, and nothing else. The websockets (``/ws``, ``/ws/live``) are
described in ``web/README.md``: OpenAPI has no words for them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse

from kernel.settings import Settings
from stream.storage.labelled import LABEL_STARS
from web.brand_page import DEFAULT_DAYS, MAX_DAYS
from web.messages import ErrorBody, PredictBody, PromoteBody, ReviewBody, RollbackBody, ScoreDetail
from web.models_api import RECORD

REF = "#/components/schemas/{model}"
MODELS: list[type[BaseModel]] = [PredictBody, ReviewBody, PromoteBody, RollbackBody, ScoreDetail, ErrorBody]


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _html(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def _query(name: str, schema: dict[str, Any], description: str, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def _body(name: str, max_bytes: int) -> dict[str, Any]:
    return {"required": True, "description": f"JSON, at most {max_bytes:,} bytes (HTTP_MAX_BODY_BYTES)",
            "content": {"application/json": {"schema": ref(name)}}}


#: Years ClickHouse's DateTime64 holds (1900..2299); the server refuses others with 422.
YEAR = r"(19|2[0-2])[0-9][0-9]"
#: A date or datetime (UTC when naive) in those years; empty means "not set", as an HTML form sends it.
DATE = {"anyOf": [{"type": "string", "format": "date", "pattern": f"^{YEAR}-"},
                  {"type": "string", "format": "date-time", "pattern": f"^{YEAR}-"},
                  {"type": "string", "maxLength": 0}]}


#: A yes/no query parameter as the server reads it (``web.filters.parse_flag``).
FLAG = {"type": "string", "enum": ["", "0", "1", "false", "true"]}


def _filters() -> list[dict[str, Any]]:
    return [
        _query("brand", {"type": "string"}, "exact brand name"),
        _query("label", {"enum": ["", "bad", "average", "good"]}, "the model's label (empty: any)"),
        _query("source", {"type": "string"}, "web, api, a crawler or import source"),
        _query("disagreement", FLAG, "stars given and the model's label differs from them"),
        _query("since", DATE, "ts >= since (ISO date or datetime, UTC)"),
        _query("until", DATE, "ts < until (a bare date includes that day)"),
        _query("q", {"type": "string"}, "case-insensitive text search"),
    ]


def _page(settings: Settings) -> list[dict[str, Any]]:
    return [
        _query("limit", {"type": "integer", "minimum": 1, "maximum": settings.api_max_page_rows, "default": 50},
               "rows per page (API_MAX_PAGE_ROWS)"),
        _query("offset", {"type": "integer", "minimum": 0, "maximum": settings.api_max_offset, "default": 0},
               "rows to skip (API_MAX_OFFSET; deeper pages: cursor)"),
        _query("cursor", {"type": "string"}, "next_cursor of the previous page (beats offset)"),
    ]


def _api_paths(settings: Settings) -> dict[str, Any]:
    error = ref("ErrorBody")
    max_bytes = settings.http_max_body_bytes
    limited = {
        "413": _json(error, f"request body over {max_bytes:,} bytes (HTTP_MAX_BODY_BYTES)"),
        "429": _json(error, f"over this client's rate ({settings.api_requests_per_s}/s, API_REQUESTS_PER_S); "
                            "see Retry-After"),
    }
    bad_input = _json(error, "invalid input; `field` names it")
    return {
        "/api/predict": {"post": {
            "summary": "Score a text (through Kafka and the scoring worker)",
            "parameters": [_query("detail", FLAG, "return probabilities, label, suggested rating, language and "
                                                  "the sentences that move the score")],
            "requestBody": _body("PredictBody", max_bytes),
            "responses": {
                "200": _json({"oneOf": [{"type": "number", "minimum": 0, "maximum": 1}, {"type": "null"},
                                        ref("ScoreDetail")]},
                             "score 0..1, null for a language the model does not read (or the detail object)"),
                "422": bad_input, **limited,
                "503": _json(error, "no scoring worker answered in time, or Kafka is unavailable"),
            },
        }},
        "/api/review": {"post": {
            "summary": "Submit a review",
            "parameters": [_query("wait", FLAG, "answer once the review is stored")],
            "requestBody": _body("ReviewBody", max_bytes),
            "responses": {
                "201": _json({"type": "object"}, "stored (with ?wait=1): id, stored and the score detail"),
                "202": _json({"type": "object", "properties": {"id": {"type": "string"}}}, "accepted"),
                "415": _json(error, "the body must be application/json"),
                "422": bad_input, **limited, "503": _json(error, "Kafka is unavailable"),
            },
        }},
        "/api/reviews": {"get": {
            "summary": "Stored reviews, newest first (public columns only)",
            "parameters": [*_filters(), *_page(settings)],
            "responses": {
                "200": _json({"type": "object", "properties": {
                    "rows": {"type": "array", "items": {"type": "object"}}, "total": {"type": "integer"},
                    "next_cursor": {"type": ["string", "null"]}}}, "one page"),
                "422": bad_input, **limited, "503": _json(error, "the query went over a ClickHouse limit"),
            },
        }},
        "/api/brands/random": {"get": {
            "summary": "A random brand",
            "parameters": [_query("exclude", {"type": "string"}, "a brand not to pick")],
            "responses": {"200": _json({"type": "object"}, "brand card"), "404": _json(error, "no brands")},
        }},
        "/api/stats": {"get": {"summary": "Exact counts", "responses": {"200": _json({"type": "object"}, "ok")}}},
    }


def _registry_paths(settings: Settings) -> dict[str, Any]:
    """The model registry, training rows and alerts: bearer REGISTRY_TOKEN (run.json) or an admin session."""
    error = ref("ErrorBody")
    record = ref("ModelRecord")
    token = {"401": _json(error, "no registry token (run.json's registry_token) and no admin session")}
    max_bytes = settings.http_max_body_bytes
    return {
        "/api/models": {
            "get": {"summary": "Registered models, the active one, the promotion history, candidates' shadow scores",
                    "responses": {"200": _json({"type": "object", "properties": {
                        "models": {"type": "array", "items": record}, "active": record,
                        "history": {"type": "array", "items": {"type": "object"}},
                        "shadow": {"type": "array", "items": {"type": "object"}}}},
                        "models, active, history, shadow"),
                        **token}},
            "post": {"summary": "Register a candidate", "requestBody": _body("ModelRecord", max_bytes),
                     "responses": {"201": _json(record, "registered"),
                                   "400": _json(error, "not a model artefact or a bad record"), **token}},
        },
        "/api/models/{version}": {"get": {
            "summary": "One model",
            "parameters": [{"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json(record, "the record"), "404": _json(error, "unknown"), **token}}},
        "/api/models/promote": {"post": {
            "summary": "Make a version active; every worker switches between two batches",
            "requestBody": _body("PromoteBody", max_bytes),
            "responses": {"200": _json(record, "now active"), "400": _json(error, "not a promote body"),
                          "404": _json(error, "unknown; lists the known ones"), **token,
                          "503": _json(error, "the switch could not be published to models.control")}}},
        "/api/models/rollback": {"post": {
            "summary": "Back to the model active before the current one",
            "requestBody": _body("RollbackBody", max_bytes),
            "responses": {"200": _json(record, "now active"), "400": _json(error, "nothing to roll back to"),
                          **token}}},
        "/api/alerts": {"get": {
            "summary": "The alert rules that fire now (the SQL of Grafana's rules; `reviewpulse alerts` under `run`)",
            "responses": {"200": _json({"type": "object", "properties": {
                "firing": {"type": "array", "items": {"type": "object", "properties": {
                    "rule": {"type": "string"}, "title": {"type": "string"}, "subject": {"type": "string"},
                    "value": {"type": "number"}, "message": {"type": "string"}}}},
                "rules": {"type": "array", "items": {"type": "string"}}}}, "one entry per firing subject"),
                          **token, "503": _json(error, "a rule's query went over a ClickHouse limit")}}},
        "/api/training/rows": {"get": {
            "summary": "Labelled reviews for `reviewpulse retrain` while `reviewpulse run` holds the database",
            "parameters": [
                _query("source", {"type": "array", "items": {"type": "string"}}, "only these sources (repeatable)"),
                _query("since", DATE, "stored since (ISO date or datetime, UTC)"),
                _query("limit", {"type": "integer", "minimum": 1, "maximum": settings.retrain_max_rows},
                       "rows at most (RETRAIN_MAX_ROWS)"),
            ],
            "responses": {"200": _json({"type": "object", "properties": {"rows": {"type": "array", "items": {
                "type": "object", "properties": {"text": {"type": "string"}, "rating": {"type": ["integer", "null"]},
                                                 "source": {"type": "string"}, "weight": {"type": "number"},
                                                 "admin": {"type": "boolean"}}}}}}, "the rows"),
                          "422": _json(error, "invalid parameter; `field` names it"), **token}}},
    }


def _brand_page() -> dict[str, Any]:
    """``/admin/brands/{brand}`` (web/brand_page.py): the period is ``days`` days up to ``until``."""
    return {
        "summary": "One brand's story: reviews per day, mix against its previous period and its category, "
                   "what people complain about and praise (admin session)",
        "parameters": [
            {"name": "brand", "in": "path", "required": True, "schema": {"type": "string"},
             "description": "the brand's exact name (percent-encoded; it may hold a '/')"},
            _query("days", {"type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": DEFAULT_DAYS},
                   "length of the period in days"),
            _query("until", DATE, "end of the period (a bare date includes that day; empty: now), on ts"),
        ],
        "responses": {"200": _html("the page"), "303": {"description": "not logged in: to /admin/login"},
                      # a name with a line break never matches the route (brand names are one line): Starlette's own 404
                      "404": {"description": "no review names the brand and the brands table does not list it",
                              "content": {"text/html": {"schema": {"type": "string"}},
                                          "text/plain": {"schema": {"type": "string"}}}},
                      "422": {"description": "an invalid parameter, named"}},
    }


def _page_paths(settings: Settings) -> dict[str, Any]:
    """The HTML pages and the service endpoints (not JSON APIs, listed so the spec names every route)."""
    login = {"303": {"description": "not logged in: to /admin/login"}}

    def page(summary: str, description: str = "the page", admin: bool = True) -> dict[str, Any]:
        return {"summary": summary, "responses": {"200": _html(description), **(login if admin else {})}}

    def form(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
        schema = {"type": "object", "properties": properties, "required": required}
        return {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": schema}}}

    login_form = form({"password": {"type": "string"}, "next": {"type": "string"}}, ["password"])
    label_form = form({"id": {"type": "string", "minLength": 1, "maxLength": 128},
                       "label": {"enum": list(LABEL_STARS)}}, ["id", "label"])
    return {
        "/": {"get": page("Write a review of a random brand and watch its score move", admin=False)},
        "/live": {"get": page("Every stored review as it arrives", admin=False)},
        "/admin": {"get": page("Stored reviews with filters (admin session; else a redirect to the login)")},
        "/admin/login": {"get": page("The admin login form", admin=False),
                         "post": {"summary": "Log in", "requestBody": login_form,
                                  "responses": {"303": {"description": "logged in: to /admin"},
                                                "401": _html("wrong password"), "429": _html("too many tries"),
                                                "503": _html("no ADMIN_PASSWORD_HASH: the admin is off")}}},
        "/admin/logout": {"post": {"summary": "Log out", "responses": {"303": {"description": "to /admin/login"}}}},
        "/admin/reviews.csv": {"get": {"summary": "The filtered reviews as CSV (admin session)", "parameters":
                                       _filters(), "responses": {**login, "422": {"description": "an invalid filter, named"}, "200": {
                                           "description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}}}},
        "/admin/labels": {"get": page("The label queue (admin session)"),
                          "post": {"summary": "Set a review's label", "requestBody": label_form,
                                   "responses": {"303": {"description": "back to the queue"},
                                                 "404": {"description": "no such review"},
                                                 "422": {"description": "not a label"}}}},
        "/admin/models": {"get": page("Model quality, registry and promotion history (admin session)")},
        "/admin/dead-letters": {"get": page("What the worker refused and why, with the raw messages (admin session)")},
        "/admin/brands/{brand}": {"get": _brand_page()},
        "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "alive"}}}},
        "/readyz": {"get": {"summary": "Broker and storage reachable", "responses": {
            "200": {"description": "ready"}, "503": {"description": "not ready"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {
            "description": "text", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        "/openapi.json": {"get": {"summary": "This description", "responses": {"200": _json({"type": "object"}, "it")}}},
    }


def build_spec(settings: Settings) -> dict[str, Any]:
    """The whole OpenAPI document for an app running with ``settings``."""
    _, definitions = models_json_schema([(model, "validation") for model in MODELS], ref_template=REF)
    schemas = dict(definitions.get("$defs", {}))
    schemas["ModelRecord"] = RECORD.json_schema(ref_template=REF)
    return {
        "openapi": "3.1.0",
        "info": {"title": "ReviewPulse", "version": "1", "description": "Live sentiment for customer reviews. "
                 "Errors are JSON {\"error\", \"field\"}. The websockets /ws and /ws/live are described in "
                 "web/README.md."},
        "paths": {**_api_paths(settings), **_registry_paths(settings), **_page_paths(settings)},
        "components": {"schemas": schemas},
    }


async def openapi_json(request: Request) -> JSONResponse:
    state = request.app.state
    if getattr(state, "openapi", None) is None:
        state.openapi = build_spec(state.settings)
    return JSONResponse(state.openapi)
