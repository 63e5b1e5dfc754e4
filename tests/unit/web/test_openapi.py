"""``/openapi.json`` describes every route the app serves, with the bodies and limits the handlers use."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from kernel.events import MAX_TEXT_CHARS
from kernel.settings import Settings
from web.app import create_app
from web.bus import MemoryBroker, MemoryBus
from web.messages import PromoteBody, ReviewBody


@pytest.fixture
def served(tmp_path: Path) -> tuple[Any, dict[str, Any]]:
    settings = Settings(data_dir=tmp_path, http_max_body_bytes=12_345, retrain_max_rows=777)
    app = create_app(settings, None, MemoryBus(MemoryBroker()), registry=None)  # type: ignore[arg-type]
    return app, TestClient(app).get("/openapi.json").json()


def test_every_route_the_app_serves_is_described_and_nothing_else(served: tuple[Any, dict[str, Any]]) -> None:
    app, spec = served
    # "{brand:path}" is Starlette's convertor; OpenAPI names the parameter "{brand}"
    routes = {(re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path), method.lower()) for route in app.routes
              if isinstance(route, Route) for method in route.methods or () if method != "HEAD"}
    described = {(path, method) for path, operations in spec["paths"].items() for method in operations}
    assert routes - described == set(), "served but not in /openapi.json"
    assert described - routes == set(), "in /openapi.json but not served"


def test_bodies_are_the_models_the_handlers_validate_with(served: tuple[Any, dict[str, Any]]) -> None:
    _, spec = served
    schemas = spec["components"]["schemas"]
    review = schemas["ReviewBody"]["properties"]["review"]
    assert review["maxLength"] == MAX_TEXT_CHARS and review["minLength"] == 1
    assert set(schemas["ReviewBody"]["properties"]) == set(ReviewBody.model_fields)
    assert schemas["PromoteBody"]["required"] == [name for name, field in PromoteBody.model_fields.items()
                                                  if field.is_required()]
    promote = spec["paths"]["/api/models/promote"]["post"]
    assert promote["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/PromoteBody"}
    assert "version" in schemas["ModelRecord"]["required"]


def test_limits_come_from_the_settings_the_app_runs_with(served: tuple[Any, dict[str, Any]]) -> None:
    _, spec = served
    predict = spec["paths"]["/api/predict"]["post"]
    assert "12,345 bytes" in predict["requestBody"]["description"]
    assert "12,345 bytes" in predict["responses"]["413"]["description"]
    rows = {p["name"]: p for p in spec["paths"]["/api/training/rows"]["get"]["parameters"]}
    assert rows["limit"]["schema"]["maximum"] == 777
