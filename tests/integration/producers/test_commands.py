"""CLI edges: clear errors that carry the fix, and the standard Scrapy project layout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from kernel.settings import Settings
from tests.conftest import REPO, REVIEWPULSE
from tests.crawl_site import cli_env


def test_crawl_without_a_broker_says_how_to_get_one(tmp_path: Path) -> None:
    env = cli_env(tmp_path, Settings())
    result = subprocess.run([*REVIEWPULSE, "crawl", "--skip-discovery"], env=env, cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert "reviewpulse run" in result.stderr and "KAFKA_BOOTSTRAP" in result.stderr


def test_scrapy_finds_the_spider_from_the_project_folder() -> None:
    result = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=REPO / "producers" / "crawler",
                            capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.split() == ["reviews"]


def test_unknown_profile_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run([*REVIEWPULSE, "crawl", "--skip-discovery", "--no-publish", "--profile", "nosuch"],
                            env=cli_env(tmp_path, Settings()), cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert "no site profile 'nosuch'" in result.stderr and "known profiles: local, trustpilot" in result.stderr


