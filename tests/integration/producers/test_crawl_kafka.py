"""The Scrapy crawl of the demo site publishes exactly the expected reviews to a real broker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kernel.events import stable_id
from producers.demo_site import Catalogue
from tests.crawl_site import cli_env, consume_brands, consume_reviews, run_cli, unique_topics

pytestmark = pytest.mark.slow


def expected_events(catalogue: Catalogue, site: str) -> dict[str, tuple]:
    """id -> (text, rating, brand, ts, company url) for every review a correct crawl publishes."""
    return {
        stable_id("crawl:local", f"{site}/review/{company.slug}", review.key):
            (review.text, review.rating, company.name, review.date, f"{site}/review/{company.slug}")
        for company, review in catalogue.expected_reviews()
    }


def crawl(tmp_path: Path, settings, broker: str, companies_csv: Path, *extra: str) -> dict:
    stats_json = tmp_path / f"stats-{len(list(tmp_path.glob('stats-*')))}.json"
    run_cli(["crawl", "--skip-discovery", "--companies", str(companies_csv), "--no-polite", "--bootstrap", broker,
             "--stats-json", str(stats_json), *extra], cli_env(tmp_path, settings))
    return json.loads(stats_json.read_text())


def test_crawl_publishes_exactly_the_expected_reviews(catalogue: Catalogue, demo_site: str, broker: str,
                                                     companies_csv: Path, tmp_path: Path) -> None:
    settings = unique_topics(broker)
    feed = tmp_path / "reviews.jsonl"
    summary = crawl(tmp_path, settings, broker, companies_csv, "--feed", str(feed))
    expected = expected_events(catalogue, demo_site)

    events = consume_reviews(broker, settings.topic_raw)
    assert len(events) == len(expected)
    got = {e.id: (e.text, e.rating, e.brand, e.ts, e.meta["company_url"]) for e in events}
    assert got == expected
    by_slug = {c.slug: c for c in catalogue.companies}
    for event in events:
        company = by_slug[event.meta["company_url"].rsplit("/", 1)[1]]
        assert (event.kind, event.source) == ("scraped", "local")
        assert event.url.startswith(f"{demo_site}/review/{company.slug}")
        assert event.meta["company_website"] == company.website
        assert event.meta["company_logo"] == f"{demo_site}/logos/{company.slug}.svg"
        assert event.key == company.name.encode()

    assert summary["items"] == summary["published"] == len(expected)
    assert summary["skipped"] == {"http_404": 1, "empty_text": 1, "no_text": 1}
    assert summary["missing"] == {"rating": 1}
    assert len(feed.read_text().splitlines()) == len(expected)

    brands = consume_brands(broker, settings.topic_brands)
    crawled = [c for c in catalogue.companies if not c.missing]
    assert sorted((b.name, b.website, b.logo, b.category, b.sub_category) for b in brands) == sorted(
        (c.name, c.website, f"{demo_site}/logos/{c.slug}.svg", c.category, c.sub_category) for c in crawled)


def test_interrupted_crawl_resumes_without_duplicates_or_gaps(catalogue: Catalogue, demo_site: str, broker: str,
                                                              companies_csv: Path, tmp_path: Path) -> None:
    settings = unique_topics(broker)
    jobdir = tmp_path / "job"
    first = crawl(tmp_path, settings, broker, companies_csv, "--jobdir", str(jobdir), "--max-items", "40")
    assert first["finish_reason"] == "closespider_itemcount"
    expected = expected_events(catalogue, demo_site)
    assert first["items"] < len(expected)
    second = crawl(tmp_path, settings, broker, companies_csv, "--jobdir", str(jobdir))
    assert second["finish_reason"] == "finished"

    events = consume_reviews(broker, settings.topic_raw)
    ids = [event.id for event in events]
    assert set(ids) == set(expected)  # nothing missing, nothing foreign
    # Scrapy's JOBDIR keeps the request queue and the seen-request fingerprints, so no page is
    # fetched twice and no review is published twice. (Were a page re-requested, its reviews would
    # be re-published with the same stable ids and storage would still keep one row each.)
    assert len(ids) == len(expected) == first["published"] + second["published"]


def test_polite_crawl_obeys_robots_txt(catalogue: Catalogue, demo_site: str, broker: str, tmp_path: Path) -> None:
    settings = unique_topics(broker)
    companies = [c for c in catalogue.companies if not c.missing and all(r.fault is None for r in c.reviews)][:2]
    csv_path = tmp_path / "polite.csv"
    csv_path.write_text("name,url\n" + "".join(f"{c.name},{demo_site}/review/{c.slug}\n" for c in companies)
                        + f"Hidden,{demo_site}/admin/hidden\n")
    stats_json = tmp_path / "polite.json"
    run_cli(["crawl", "--skip-discovery", "--companies", str(csv_path), "--bootstrap", broker,
             "--stats-json", str(stats_json)], cli_env(tmp_path, settings))  # polite is the default
    summary = json.loads(stats_json.read_text())
    assert summary["skipped"] == {"IgnoreRequest": 1}  # /admin/ is disallowed by the site's robots.txt
    assert summary["published"] == sum(len(c.reviews) for c in companies)
    assert {e.brand for e in consume_reviews(broker, settings.topic_raw)} == {c.name for c in companies}
