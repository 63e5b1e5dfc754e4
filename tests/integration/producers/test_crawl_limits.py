"""A crawl stops at its bounds: depth (pages per company), page count and response size."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from kernel.settings import Settings
from producers.companies import write_companies_csv
from producers.demo_site import Catalogue, DemoSiteServer, SiteSpec, pages
from tests.crawl_site import cli_env, company_rows, run_cli

pytestmark = pytest.mark.slow

#: Two reviews per page, so every company has several pages to follow.
DEEP_SITE = SiteSpec(seed=3, categories=1, min_companies=3, max_companies=4, min_reviews=7, max_reviews=9,
                     reviews_per_page=2, slow_page_delay_s=0.1)


@pytest.fixture(scope="module")
def deep_site() -> Iterator[tuple[Catalogue, str]]:
    catalogue = Catalogue(DEEP_SITE)
    with DemoSiteServer(catalogue) as server:
        yield catalogue, server.url


def crawl(tmp_path: Path, site: tuple[Catalogue, str], **limits: str) -> tuple[dict, list[dict]]:
    catalogue, url = site
    companies, feed, stats = tmp_path / "companies.csv", tmp_path / "items.jsonl", tmp_path / "stats.json"
    write_companies_csv(companies, company_rows(catalogue, url))
    run_cli(["crawl", "--skip-discovery", "--companies", str(companies), "--no-polite", "--no-publish",
             "--feed", str(feed), "--stats-json", str(stats)], cli_env(tmp_path, Settings(), **limits))
    items = [json.loads(line) for line in feed.read_text().splitlines()] if feed.exists() else []
    return json.loads(stats.read_text()), items


def page_number(url: str) -> int:
    return int(parse_qs(urlsplit(url).query).get("page", ["1"])[0])


def test_depth_limit_stops_following_next_pages(deep_site: tuple[Catalogue, str], tmp_path: Path) -> None:
    catalogue, _ = deep_site
    summary, items = crawl(tmp_path, deep_site, CRAWL_MAX_DEPTH="1")
    assert {page_number(item["page_url"]) for item in items} == {1, 2}  # page 1 is depth 0, page 2 depth 1
    assert summary["items"] < len(catalogue.expected_reviews())
    assert summary["finish_reason"] == "finished"


def test_crawl_stops_at_the_page_cap(deep_site: tuple[Catalogue, str], tmp_path: Path) -> None:
    catalogue, _ = deep_site
    all_pages = sum(-(-len(c.reviews) // DEEP_SITE.reviews_per_page) for c in catalogue.companies if not c.missing)
    summary, _ = crawl(tmp_path, deep_site, CRAWL_MAX_PAGES="3")
    assert summary["finish_reason"] == "closespider_pagecount"
    assert summary["pages"] < all_pages


def test_responses_above_the_size_cap_are_dropped(deep_site: tuple[Catalogue, str], tmp_path: Path) -> None:
    catalogue, _ = deep_site
    first_pages = {c.slug: len(pages.company_page(c, 1, DEEP_SITE.reviews_per_page).encode())
                   for c in catalogue.companies if not c.missing}
    cap = sorted(first_pages.values())[len(first_pages) // 2]
    summary, items = crawl(tmp_path, deep_site, CRAWL_MAX_PAGE_BYTES=str(cap))
    crawled = {item["company_url"].rsplit("/", 1)[1] for item in items}
    assert crawled and crawled <= {slug for slug, size in first_pages.items() if size <= cap}
    assert sum(summary["skipped"].values()) >= sum(size > cap for size in first_pages.values())
