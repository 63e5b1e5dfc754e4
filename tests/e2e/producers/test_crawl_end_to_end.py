"""crawl -> Kafka -> worker -> ClickHouse: a running ``reviewpulse run`` ends up holding every
scraped review exactly once, and the brands with the details the crawler found."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kernel.events import stable_id
from kernel.settings import get_settings
from producers.demo_site import Catalogue, DemoSiteServer, SiteSpec
from tests.conftest import REPO, RunningSystem
from tests.crawl_site import run_cli

pytestmark = [pytest.mark.slow, pytest.mark.browser]

# Small on purpose: the worker scores every review with a full-size (untrained) char-CNN.
E2E_SITE = SiteSpec(seed=3, categories=1, min_companies=6, max_companies=8, min_reviews=3, max_reviews=7,
                    slow_page_delay_s=0.3, reviews_csv=get_settings().demo_reviews_csv)

DUMP = """
import json, sys
from kernel.settings import Settings
from stream.storage.clickhouse import open_storage
storage = open_storage(Settings(data_dir=sys.argv[1], clickhouse_url=""))
q = storage.query
print(json.dumps({
    "final": q("SELECT id, text, rating, brand FROM reviews FINAL WHERE source = 'local'"),
    "rows": q("SELECT count() AS n FROM reviews WHERE source = 'local'")[0]["n"],
    "brands": q("SELECT name, website, logo, category FROM brands FINAL WHERE source = 'local'"),
}, default=str))
"""


def wait_for_stored(system: RunningSystem, count: int, timeout_s: float = 300) -> dict:
    deadline = time.monotonic() + timeout_s
    stats: dict = {}
    while time.monotonic() < deadline:
        stats = httpx.get(f"{system.web_url}/api/stats", timeout=10).json()
        if stats.get("by_source", {}).get("local", 0) >= count:
            return stats
        time.sleep(1)
    raise AssertionError(f"only {stats} stored after {timeout_s}s, expected {count} local reviews")


def test_crawled_reviews_land_in_clickhouse_once(running_system: RunningSystem, tmp_path: Path) -> None:
    catalogue = Catalogue(E2E_SITE)
    expected = catalogue.expected_reviews()
    env = dict(running_system.env, CRAWL_DIR=str(tmp_path / "crawl"))
    with DemoSiteServer(catalogue) as site:
        # Full path: Selenium discovery, then Scrapy; the broker comes from the system's run.json.
        run_cli(["crawl", "--start-url", site.url, "--no-polite"], env)
        wait_for_stored(running_system, len(expected))
        time.sleep(2)  # let any (wrong) extra event arrive before counting
        site_url = site.url
    assert running_system.stop() == 0

    dump = subprocess.run([sys.executable, "-c", DUMP, str(running_system.data_dir)], cwd=REPO,
                          capture_output=True, text=True, check=True)
    stored = json.loads(dump.stdout.strip().splitlines()[-1])
    want = {
        stable_id("crawl:local", f"{site_url}/review/{company.slug}", review.key): (review.text, review.rating,
                                                                                    company.name)
        for company, review in expected
    }
    assert {row["id"]: (row["text"], row["rating"], row["brand"]) for row in stored["final"]} == want
    assert stored["rows"] == len(want)  # no duplicate row even before merges
    # Discovery publishes every listed company; the crawl republishes the reachable ones with
    # website and logo (newer ts wins). The 404 company keeps its discovery row.
    assert sorted((b["name"], b["website"], b["logo"], b["category"]) for b in stored["brands"]) == sorted(
        (c.name, "", "", c.category) if c.missing else (c.name, c.website, f"{site_url}/logos/{c.slug}.svg",
                                                         c.category)
        for c in catalogue.companies)
