"""A crawl's log (Scrapy, Twisted and ours) comes out in the one ReviewPulse format."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from kernel.settings import Settings
from tests.conftest import REPO, REVIEWPULSE
from tests.crawl_site import cli_env

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_crawl_logs_in_the_configured_format(companies_csv: Path, tmp_path: Path, log_format: str) -> None:
    env = cli_env(tmp_path, Settings(), LOG_LEVEL="INFO", LOG_FORMAT=log_format)
    result = subprocess.run([*REVIEWPULSE, "crawl", "--skip-discovery", "--companies", str(companies_csv),
                             "--no-polite", "--no-publish"], env=env, cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.startswith("crawled ")  # the summary stays on stdout, apart from the log
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if log_format == "json":
        entries = [json.loads(line) for line in lines]
        assert any(entry["logger"].startswith("scrapy.") for entry in entries)
        assert {entry["level"] for entry in entries} <= {"INFO", "WARNING", "ERROR"}  # Scrapy's DEBUG held back
    else:
        assert not any(line.startswith('{"ts"') for line in lines)
        assert any(" INFO    scrapy." in line for line in lines)
