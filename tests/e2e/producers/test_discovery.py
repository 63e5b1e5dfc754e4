"""Selenium discovery against the demo site in real headless Chromium (explicit waits)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from kernel.settings import Settings
from producers.companies import read_companies_csv
from producers.demo_site import Catalogue, DemoSiteServer, SiteSpec
from producers.discovery import discover
from producers.site_profile import load_profile
from tests.crawl_site import cli_env, company_rows, consume_brands, run_cli, unique_topics

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_discovers_every_company_on_every_page(catalogue: Catalogue, demo_site: str) -> None:
    result = discover(demo_site, load_profile("local"), Settings(), progress=False)
    assert result.failures == []
    assert sorted(result.companies, key=lambda c: c.url) == sorted(company_rows(catalogue, demo_site),
                                                                     key=lambda c: c.url)
    per_page = catalogue.spec.companies_per_page
    assert result.pages == sum(-(-len(sub.companies) // per_page) for sub in catalogue.sub_by_slug.values())


def test_a_failing_sub_category_is_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    # The slow sub-category answers after 8 s; a 3 s explicit wait gives up on it, and only on it.
    spec = SiteSpec(seed=5, categories=1, min_companies=6, max_companies=12, slow_page_delay_s=8.0)
    catalogue = Catalogue(spec)
    slow_sub = next(sub for sub in catalogue.sub_by_slug.values() if any(c.slow for c in sub.companies))
    with DemoSiteServer(catalogue) as site, caplog.at_level(logging.ERROR, logger="producers.discovery"):
        result = discover(site.url, load_profile("local"), Settings(discovery_wait_s=3.0), progress=False)
    assert [url for url, _ in result.failures] == [f"{site.url}/categories/{slow_sub.slug}"]
    assert f"skipped sub-category {site.url}/categories/{slow_sub.slug}" in caplog.text
    expected = {c.name for sub in catalogue.sub_by_slug.values() if sub is not slow_sub for c in sub.companies}
    assert {c.name for c in result.companies} == expected


def test_discover_command_writes_csv_and_publishes_brands(catalogue: Catalogue, demo_site: str, broker: str,
                                                          tmp_path: Path) -> None:
    settings = unique_topics(broker)
    out = tmp_path / "companies.csv"
    run_cli(["discover", "--start-url", f"{demo_site}/categories", "--out", str(out), "--bootstrap", broker],
            cli_env(tmp_path, settings))
    expected = company_rows(catalogue, demo_site)
    assert sorted(read_companies_csv(out), key=lambda c: c.url) == sorted(expected, key=lambda c: c.url)
    brands = consume_brands(broker, settings.topic_brands)
    assert sorted((b.name, b.category, b.sub_category, b.url, b.source) for b in brands) == \
        sorted((c.name, c.category, c.sub_category, c.url, "local") for c in expected)
