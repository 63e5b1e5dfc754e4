"""``reviewpulse bench dashboards``: every panel query and alert rule timed on a loaded chDB."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from dashboards import brand_queries, queries
from stream.storage.alerts import RULES


@pytest.mark.slow
def test_bench_dashboards_runs_every_panel_query(tmp_path: Path) -> None:
    """In a subprocess: chDB allows one data directory per process, and the suite holds one."""
    from tests.conftest import REVIEWPULSE

    env = {**os.environ, "LOG_LEVEL": "WARNING", "DATA_DIR": str(tmp_path)}
    done = subprocess.run([*REVIEWPULSE, "bench", "dashboards", "--reviews", "300", "--repeats", "1"],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout)
    assert set(figures["panel_ms"]) == {query.key for query in queries.ALL}
    assert set(figures["brand_panel_ms"]) == {query.key for query in brand_queries.ALL}
    assert set(figures["alert_rule_ms"]) == {rule.name for rule in RULES}
    assert figures["bytes_on_disk_per_review"] > 0
