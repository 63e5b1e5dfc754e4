"""Fixtures for the stream room: a broker of the test's own (topics created)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reviewpulse.broker import EmbeddedBroker
from reviewpulse.settings import Settings
from reviewpulse.topics import ensure_topics


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[str]:
    """A fresh embedded broker for one test (a fraction of a second to start)."""
    with EmbeddedBroker(tmp_path / "broker") as embedded:
        ensure_topics(embedded.bootstrap, Settings())
        yield embedded.bootstrap
