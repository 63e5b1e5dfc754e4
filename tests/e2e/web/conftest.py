"""Fixtures for the browser tests: the whole system (``reviewpulse run``) with the admin enabled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.web.conftest import ADMIN_HASH


@pytest.fixture(scope="module")
def browser_system(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                   tiny_model_dir: Path) -> Iterator[Any]:
    """``reviewpulse run`` (root conftest's ``start_system``) with the admin enabled over plain HTTP.

    Uses the trained model in ``models/charcnn`` when it exists, else the tiny one.
    """
    from kernel.settings import DEFAULT_MODEL_DIR

    root = request.config.pluginmanager.get_plugin(str(Path(__file__).resolve().parents[2] / "conftest.py"))
    model_dir = DEFAULT_MODEL_DIR if (DEFAULT_MODEL_DIR / "model.json").exists() else tiny_model_dir
    system = root.start_system(
        tmp_path_factory.mktemp("web-system") / "var", model_dir,
        # SECURE_COOKIES stays at its default (true): `run` on a loopback address must still let
        # the admin log in over plain HTTP.
        ADMIN_PASSWORD_HASH=ADMIN_HASH, SESSION_SECRET="browser-test",
    )
    yield system
    system.stop()
