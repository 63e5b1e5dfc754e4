"""CLI edges: clear errors that carry the fix, and the standard Scrapy project layout."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from producers.companies import read_companies_csv
from reviewpulse.settings import Settings
from tests.conftest import REPO, REVIEWPULSE
from tests.producers.conftest import cli_env


def test_crawl_without_a_broker_says_how_to_get_one(tmp_path: Path) -> None:
    env = cli_env(tmp_path, Settings())
    result = subprocess.run([*REVIEWPULSE, "crawl", "--skip-discovery"], env=env, cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert "reviewpulse run" in result.stderr and "KAFKA_BOOTSTRAP" in result.stderr


def test_company_csv_without_url_column_names_file_and_column(tmp_path: Path) -> None:
    path = tmp_path / "companies.csv"
    path.write_text("name,website\nAcme,https://acme.example\n")
    with pytest.raises(ValueError, match=r"companies\.csv: missing column\(s\) url"):
        read_companies_csv(path)


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


@pytest.mark.slow
@pytest.mark.browser
def test_discovery_of_a_page_without_categories_says_what_to_check(demo_site: str, tmp_path: Path) -> None:
    result = subprocess.run([*REVIEWPULSE, "discover", "--no-publish", "--start-url", f"{demo_site}/robots.txt"],
                            env=cli_env(tmp_path, Settings()), cwd=REPO, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 2
    assert "no sub-category links" in result.stderr and "--start-url" in result.stderr
