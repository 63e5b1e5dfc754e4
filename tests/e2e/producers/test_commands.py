"""CLI edges in a browser: discovery on a page without categories says what to check."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kernel.settings import Settings
from tests.conftest import REPO, REVIEWPULSE
from tests.crawl_site import cli_env


@pytest.mark.slow
@pytest.mark.browser
def test_discovery_of_a_page_without_categories_says_what_to_check(demo_site: str, tmp_path: Path) -> None:
    result = subprocess.run([*REVIEWPULSE, "discover", "--no-publish", "--start-url", f"{demo_site}/robots.txt"],
                            env=cli_env(tmp_path, Settings()), cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2
    assert "no sub-category links" in result.stderr and "--start-url" in result.stderr
