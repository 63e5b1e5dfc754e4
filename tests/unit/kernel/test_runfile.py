"""Which broker a command talks to: the setting first, then the run file of a running system (its pid alive)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from kernel.runfile import resolve_bootstrap
from kernel.settings import Settings


def test_resolve_bootstrap_prefers_setting_then_run_file(tmp_path: Path) -> None:
    assert resolve_bootstrap(Settings(data_dir=tmp_path, kafka_bootstrap="")) is None
    (tmp_path / "run.json").write_text(json.dumps({"broker": "127.0.0.1:1234", "web": "http://x", "pid": os.getpid()}))
    assert resolve_bootstrap(Settings(data_dir=tmp_path, kafka_bootstrap="")) == "127.0.0.1:1234"
    assert resolve_bootstrap(Settings(data_dir=tmp_path, kafka_bootstrap="h:9")) == "h:9"


def test_a_run_file_left_by_a_killed_run_names_no_broker(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, kafka_bootstrap="")
    (tmp_path / "run.json").write_text(json.dumps({"broker": "127.0.0.1:1234", "pid": dead_pid()}))
    assert resolve_bootstrap(settings) is None
    from reviewpulse.commands.common import no_broker

    assert "no longer running" in no_broker(settings)


def dead_pid() -> int:
    """A pid no process has now, from the top of the kernel's range.

    Not the one past the largest in use: that is the next pid the kernel hands out, and a
    process the suite starts meanwhile took it (a flaky failure).
    """
    top = int(Path("/proc/sys/kernel/pid_max").read_text()) - 1
    in_use = {int(name) for name in os.listdir("/proc") if name.isdigit()}
    return next(pid for pid in range(top, 1, -1) if pid not in in_use)


@pytest.mark.parametrize("garbage", ["{", ""])
def test_unreadable_run_file_means_no_system(tmp_path: Path, garbage: str) -> None:
    (tmp_path / "run.json").write_text(garbage)
    assert resolve_bootstrap(Settings(data_dir=tmp_path, kafka_bootstrap="")) is None
