"""The OpenAPI 3.1 description served at ``/openapi.json`` (hand-written: it is the contract)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

_ERROR = {"$ref": "#/components/schemas/Error"}
_FILTERS = [
    {"name": name, "in": "query", "required": False, "schema": schema, "description": text}
    for name, schema, text in [
        ("brand", {"type": "string"}, "exact brand name"),
        ("label", {"enum": ["bad", "average", "good"]}, "the model's label"),
        ("source", {"type": "string"}, "web, api, a crawler or import source"),
        ("disagreement", {"type": "boolean"}, "stars given and the model's label differs from them"),
        ("since", {"type": "string", "format": "date-time"}, "ts >= since (ISO date or datetime, UTC)"),
        ("until", {"type": "string", "format": "date-time"}, "ts < until (a bare date includes that day)"),
        ("q", {"type": "string"}, "case-insensitive text search"),
        ("limit", {"type": "integer", "minimum": 1, "default": 50}, "rows per page"),
        ("offset", {"type": "integer", "minimum": 0, "default": 0}, "rows to skip"),
        ("cursor", {"type": "string"}, "next_cursor of the previous page (beats offset)"),
    ]
]


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "ReviewPulse", "version": "1", "description": "Live sentiment for customer reviews."},
    "paths": {
        "/api/predict": {"post": {
            "summary": "Score a text (through Kafka and the scoring worker)",
            "parameters": [{"name": "detail", "in": "query", "schema": {"type": "boolean"},
                            "description": "return probabilities, label and suggested rating"}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["review"], "properties": {"review": {"type": "string"}}}}}},
            "responses": {
                "200": _json({"oneOf": [{"type": "number"}, {"$ref": "#/components/schemas/Score"}]},
                             "score 0..1 (or the detail object)"),
                "422": _json(_ERROR, "invalid body; `field` names the field"),
                "503": _json(_ERROR, "no scoring worker answered in time, or Kafka is unavailable"),
            },
        }},
        "/api/review": {"post": {
            "summary": "Submit a review",
            "parameters": [{"name": "wait", "in": "query", "schema": {"type": "boolean"},
                            "description": "answer once the review is stored"}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["review"], "properties": {
                    "review": {"type": "string"}, "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                    "suggested_rating": {"type": "integer", "minimum": 1, "maximum": 5},
                    "sentiment_score": {"type": "number", "minimum": 0, "maximum": 1},
                    "brand": {"type": "string"}}}}}},
            "responses": {
                "201": _json({"type": "object"}, "stored (with ?wait=1): id and score"),
                "202": _json({"type": "object", "properties": {"id": {"type": "string"}}}, "accepted"),
                "422": _json(_ERROR, "invalid body; `field` names the field"),
                "503": _json(_ERROR, "Kafka is unavailable"),
            },
        }},
        "/api/reviews": {"get": {
            "summary": "Stored reviews, newest first",
            "parameters": _FILTERS,
            "responses": {
                "200": _json({"type": "object", "properties": {
                    "rows": {"type": "array", "items": {"type": "object"}}, "total": {"type": "integer"},
                    "next_cursor": {"type": ["string", "null"]}}}, "one page"),
                "422": _json(_ERROR, "invalid parameter; `field` names it"),
            },
        }},
        "/api/brands/random": {"get": {
            "summary": "A random brand",
            "parameters": [{"name": "exclude", "in": "query", "schema": {"type": "string"}}],
            "responses": {"200": _json({"type": "object"}, "brand card"), "404": _json(_ERROR, "no brands")},
        }},
        "/api/stats": {"get": {
            "summary": "Exact counts", "responses": {"200": _json({"type": "object"}, "ok")}}},
        "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "alive"}}}},
        "/readyz": {"get": {"summary": "Broker and storage reachable", "responses": {
            "200": {"description": "ready"}, "503": {"description": "not ready"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text"}}}},
    },
    "components": {"schemas": {
        "Error": {"type": "object", "required": ["error"],
                  "properties": {"error": {"type": "string"}, "field": {"type": "string"}}},
        "Score": {"type": "object", "properties": {
            "score": {"type": "number"}, "probs": {"type": "array", "items": {"type": "number"}},
            "label": {"type": "string"}, "suggested_rating": {"type": "integer"},
            "model_version": {"type": "string"}}},
    }},
}


_LIMITED = {
    "413": _json(_ERROR, "request body over HTTP_MAX_BODY_BYTES"),
    "429": _json(_ERROR, "over this client's rate (API_REQUESTS_PER_S); see Retry-After"),
}
for _path in ("/api/predict", "/api/review", "/api/reviews"):
    for _operation in SPEC["paths"][_path].values():
        _operation["responses"].update(_LIMITED)
SPEC["paths"]["/api/review"]["post"]["responses"]["415"] = _json(_ERROR, "the body must be application/json")
SPEC["paths"]["/api/reviews"]["get"]["responses"]["503"] = _json(_ERROR, "the query went over a ClickHouse limit")

# The model registry (web/models_api.py): bearer REGISTRY_TOKEN (run.json) or an admin session.
_TOKEN = {"401": _json(_ERROR, "no registry token (run.json's registry_token) and no admin session")}
_RECORD = {"type": "object", "description": "a stream.registry.store.ModelRecord"}
SPEC["paths"].update({
    "/api/models": {
        "get": {"summary": "Registered models, the active one, the promotion history",
                "responses": {"200": _json({"type": "object"}, "models, active, history"), **_TOKEN}},
        "post": {"summary": "Register a candidate", "requestBody": {"content": {"application/json": {
                 "schema": _RECORD}}}, "responses": {"201": _json(_RECORD, "registered"),
                 "400": _json(_ERROR, "not a model artefact or a bad record"), **_TOKEN}},
    },
    "/api/models/{version}": {"get": {
        "summary": "One model", "parameters": [{"name": "version", "in": "path", "required": True,
                                                "schema": {"type": "string"}}],
        "responses": {"200": _json(_RECORD, "the record"), "404": _json(_ERROR, "unknown"), **_TOKEN}}},
    "/api/models/promote": {"post": {
        "summary": "Make a version active; every worker switches between two batches",
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
            "version": {"type": "string"}, "by": {"type": "string"}, "note": {"type": "string"}}}}}},
        "responses": {"200": _json(_RECORD, "now active"), "404": _json(_ERROR, "unknown; lists the known ones"),
                      **_TOKEN}}},
    "/api/models/rollback": {"post": {
        "summary": "Back to the model active before the current one",
        "responses": {"200": _json(_RECORD, "now active"), "400": _json(_ERROR, "nothing to roll back to"),
                      **_TOKEN}}},
})


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(SPEC)
