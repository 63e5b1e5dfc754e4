"""Which broker a command talks to: the setting first, then the run file of a running system."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kernel.runfile import resolve_bootstrap
from kernel.settings import Settings


def test_resolve_bootstrap_prefers_setting_then_run_file(tmp_path: Path) -> None:
    assert resolve_bootstrap(Settings(data_dir=tmp_path, kafka_bootstrap="")) is None
    (tmp_path / "run.json").write_text(json.dumps({"broker": "127.0.0.1:1234", "web": "http://x"}))
    assert resolve_bootstrap(Settings(data_dir=tmp_path, kafka_bootstrap="")) == "127.0.0.1:1234"
    assert resolve_bootstrap(Settings(data_dir=tmp_path, kafka_bootstrap="h:9")) == "h:9"


@pytest.mark.parametrize("garbage", ["{", ""])
def test_unreadable_run_file_means_no_system(tmp_path: Path, garbage: str) -> None:
    (tmp_path / "run.json").write_text(garbage)
    assert resolve_bootstrap(Settings(data_dir=tmp_path, kafka_bootstrap="")) is None
