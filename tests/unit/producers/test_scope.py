"""The crawl stays in scope: http(s) only, on the hosts it was started for, robots.txt obeyed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from kernel.settings import Settings
from producers.companies import DiscoveredCompany, write_companies_csv
from producers.crawl import crawl_settings
from producers.crawler.reviews_crawler.spiders.reviews import ReviewsSpider
from producers.discovery import DiscoveryError, discover
from producers.scope import RobotsRules, Scope, allowed_hosts, refusal
from producers.site_profile import load_profile

SITE = "http://demo.test:8001"
COMPANY_PAGE = """<html><body><h1 class='company-name'>Acme</h1>
<article class='review' data-review-id='r1'><p class='review-text'>Fine.</p></article>
<a class='next-page' href='{next}'>Next</a></body></html>"""


def spider_for(csv_path: Path | None = None, **kwargs: str) -> ReviewsSpider:
    crawler = get_crawler(ReviewsSpider, {"SITE_PROFILE": "local"})
    return ReviewsSpider.from_crawler(crawler, companies=str(csv_path or ""), **kwargs)


def follow(spider: ReviewsSpider, next_href: str) -> list[Request]:
    url = f"{SITE}/review/acme"
    meta = {"company": {"url": url, "name": "Acme", "category": "", "sub_category": ""}}
    response = HtmlResponse(url, body=COMPANY_PAGE.format(next=next_href).encode(), encoding="utf-8",
                            request=Request(url, meta=meta))
    return [out for out in spider.parse(response) if isinstance(out, Request)]


def start_requests(spider: ReviewsSpider) -> list[Request]:
    async def collect() -> list[Request]:
        return [request async for request in spider.start()]

    return asyncio.run(collect())


@pytest.mark.parametrize(("url", "reason"), [
    ("http://demo.test/review/a", None), ("https://www.demo.test/x", None),
    ("http://evil.test/review/a", "offsite"), ("http://notdemo.test/", "offsite"),
    ("file:///etc/passwd", "unsupported_scheme"), ("ftp://demo.test/x", "unsupported_scheme"),
    ("javascript:alert(1)", "unsupported_scheme"), ("", "unsupported_scheme"),
])
def test_refusal_allows_only_http_on_the_allowed_hosts(url: str, reason: str | None) -> None:
    assert refusal(url, ["demo.test"]) == reason


def test_hosts_come_from_the_profile_else_the_start_urls() -> None:
    assert allowed_hosts([f"{SITE}/categories", "http://Demo.test/x"]) == ["demo.test"]
    assert allowed_hosts([f"{SITE}/categories"], ["trustpilot.com"]) == ["trustpilot.com"]
    assert load_profile("trustpilot").allowed_domains == ["trustpilot.com"]
    assert load_profile("local").allowed_domains == []


@pytest.mark.parametrize(("href", "reason"), [("http://evil.test/review/acme?page=2", "offsite"),
                                              ("file:///etc/passwd", "unsupported_scheme"),
                                              ("ftp://demo.test/reviews", "unsupported_scheme")])
def test_spider_refuses_an_offsite_or_non_http_next_page(href: str, reason: str) -> None:
    spider = spider_for(allowed_hosts="demo.test")
    assert follow(spider, href) == []
    assert spider.crawler.stats.get_value(f"reviews/skipped/{reason}") == 1
    assert [r.url for r in follow(spider, "/review/acme?page=2")] == [f"{SITE}/review/acme?page=2"]


def test_spider_requests_only_in_scope_company_pages(tmp_path: Path) -> None:
    csv_path = tmp_path / "companies.csv"
    write_companies_csv(csv_path, [DiscoveredCompany("", "", "Acme", f"{SITE}/review/acme"),
                                   DiscoveredCompany("", "", "Evil", "http://evil.test/review/evil"),
                                   DiscoveredCompany("", "", "Disk", "file:///etc/passwd")])
    spider = spider_for(csv_path, allowed_hosts="demo.test")
    assert spider.allowed_domains == ["demo.test"]  # Scrapy's OffsiteMiddleware checks redirects with it
    assert [r.url for r in start_requests(spider)] == [f"{SITE}/review/acme"]
    stats = spider.crawler.stats.get_stats()
    assert stats["reviews/skipped/offsite"] == 1 and stats["reviews/skipped/unsupported_scheme"] == 1


def test_spider_without_given_hosts_stays_on_the_company_hosts(tmp_path: Path) -> None:
    csv_path = tmp_path / "companies.csv"
    write_companies_csv(csv_path, [DiscoveredCompany("", "", "Acme", f"{SITE}/review/acme")])
    spider = spider_for(csv_path)
    assert spider.allowed_domains == ["demo.test"]
    assert follow(spider, "http://elsewhere.test/review/acme?page=2") == []


def test_crawl_settings_bound_depth_pages_size_and_schemes() -> None:
    defaults = crawl_settings(profile="local", bootstrap=None, topic_raw="r", topic_brands="b")
    settings = Settings()
    assert defaults["DEPTH_LIMIT"] == settings.crawl_max_depth >= 1
    assert defaults["CLOSESPIDER_PAGECOUNT"] == settings.crawl_max_pages >= 1
    assert defaults["DOWNLOAD_MAXSIZE"] == settings.crawl_max_page_bytes <= 10_000_000
    assert {scheme for scheme, handler in defaults["DOWNLOAD_HANDLERS"].items() if handler is None} == {
        "file", "ftp", "s3", "data"}
    limited = crawl_settings(profile="local", bootstrap=None, topic_raw="r", topic_brands="b", polite=False,
                             limits=Settings(crawl_max_depth=3, crawl_max_pages=7, crawl_max_page_bytes=9000))
    assert (limited["DEPTH_LIMIT"], limited["CLOSESPIDER_PAGECOUNT"], limited["DOWNLOAD_MAXSIZE"]) == (3, 7, 9000)
    assert limited["DOWNLOAD_HANDLERS"]["file"] is None  # --no-polite loosens politeness, never the scope


def test_robots_rules_follow_the_sites_robots_txt(demo_site: str) -> None:
    rules = RobotsRules()
    assert rules.allowed(f"{demo_site}/categories") and not rules.allowed(f"{demo_site}/admin/hidden")
    assert RobotsRules(obey=False).allowed(f"{demo_site}/admin/hidden")
    assert Scope(allowed_hosts([demo_site]), rules).refusal(f"{demo_site}/admin/x") == "robots_txt"


def test_robots_rules_allow_all_when_the_site_has_none() -> None:
    assert RobotsRules().allowed("http://127.0.0.1:9/anything")  # nothing listens on port 9


@pytest.mark.parametrize(("path", "reason"), [("/admin/categories", "robots_txt"), (None, "unsupported_scheme")])
def test_discovery_refuses_a_start_page_out_of_scope_before_opening_a_browser(
        demo_site: str, tmp_path: Path, path: str | None, reason: str) -> None:
    start = f"{demo_site}{path}" if path else "file:///etc/passwd"
    no_browser = Settings(chromium_binary=tmp_path / "absent", chromedriver_path=tmp_path / "absent")
    with pytest.raises(DiscoveryError, match=reason):
        discover(start, load_profile("local"), no_browser, progress=False, polite=True)
