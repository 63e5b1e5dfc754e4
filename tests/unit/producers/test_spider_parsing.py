"""The reviews spider on demo-site pages (no network): fields, faults, pagination, event ids."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from kernel.events import stable_id
from producers.crawl import crawl_settings
from producers.crawler.reviews_crawler.items import ReviewItem
from producers.crawler.reviews_crawler.pipelines import review_event
from producers.crawler.reviews_crawler.spiders.reviews import ReviewsSpider
from producers.demo_site import Catalogue, pages
from producers.demo_site.catalogue import Company

SITE = "http://demo.test"


@pytest.fixture
def spider() -> ReviewsSpider:
    return ReviewsSpider.from_crawler(get_crawler(ReviewsSpider, {"SITE_PROFILE": "local"}), allowed_hosts="demo.test")


def parse_page(spider: ReviewsSpider, company: Company, page: int, per_page: int) -> list:
    url = f"{SITE}/review/{company.slug}" + (f"?page={page}" if page > 1 else "")
    meta = {"company": {"url": f"{SITE}/review/{company.slug}", "name": company.name, "category": "C",
                        "sub_category": "S"}}
    body = pages.company_page(company, page, per_page).encode("utf-8")
    response = HtmlResponse(url, body=body, encoding="utf-8", request=Request(url, meta=meta))
    return list(spider.parse(response))


def all_items(spider: ReviewsSpider, company: Company, per_page: int) -> list[ReviewItem]:
    items: list[ReviewItem] = []
    for page in range(1, -(-len(company.reviews) // per_page) + 1):
        items += [out for out in parse_page(spider, company, page, per_page) if isinstance(out, ReviewItem)]
    return items


def fault_company(catalogue: Catalogue, fault: str) -> Company:
    return next(c for c in catalogue.companies if any(r.fault == fault for r in c.reviews))


def test_every_field_of_a_clean_page(spider: ReviewsSpider, catalogue: Catalogue) -> None:
    company = next(c for c in catalogue.companies if not c.missing and all(r.fault is None for r in c.reviews))
    items = all_items(spider, company, catalogue.spec.reviews_per_page)
    assert [item["review_key"] for item in items] == [r.key for r in company.reviews]
    for item, review in zip(items, company.reviews, strict=True):
        assert item["comment"] == review.text
        assert item["rating"] == review.rating
        assert item["review_date"] == review.date.isoformat()
        assert item["reviewer"] == review.reviewer
        assert item["company_name"] == company.name
        assert item["company_website"] == company.website
        assert item["company_logo"] == f"{SITE}/logos/{company.slug}.svg"
        assert item["category"] == "C" and item["sub_category"] == "S"
    assert spider.crawler.stats.get_stats() == {}


def test_pagination_is_followed(spider: ReviewsSpider, catalogue: Catalogue) -> None:
    company = next(c for c in catalogue.companies if len(c.reviews) > catalogue.spec.reviews_per_page)
    requests = [out for out in parse_page(spider, company, 1, catalogue.spec.reviews_per_page)
                if isinstance(out, Request)]
    assert [r.url for r in requests] == [f"{SITE}/review/{company.slug}?page=2"]
    assert requests[0].meta["company"]["name"] == company.name


@pytest.mark.parametrize(("fault", "stat"), [("empty", "reviews/skipped/empty_text"),
                                              ("broken", "reviews/skipped/no_text")])
def test_unusable_reviews_are_skipped_and_counted(spider: ReviewsSpider, catalogue: Catalogue, fault: str,
                                                  stat: str) -> None:
    company = fault_company(catalogue, fault)
    items = all_items(spider, company, catalogue.spec.reviews_per_page)
    assert [item["review_key"] for item in items] == [r.key for r in company.reviews if r.fault != fault]
    assert spider.crawler.stats.get_value(stat) == 1


def test_review_without_stars_is_kept_and_counted(spider: ReviewsSpider, catalogue: Catalogue) -> None:
    company = fault_company(catalogue, "no_stars")
    items = all_items(spider, company, catalogue.spec.reviews_per_page)
    no_stars = next(r for r in company.reviews if r.fault == "no_stars")
    assert next(item for item in items if item["review_key"] == no_stars.key)["rating"] is None
    assert spider.crawler.stats.get_value("reviews/missing/rating") == 1


def test_page_without_reviews_or_company_fields_does_not_crash(spider: ReviewsSpider) -> None:
    url = f"{SITE}/review/ghost"
    meta = {"company": {"url": url, "name": "Ghost", "category": "", "sub_category": ""}}
    response = HtmlResponse(url, body=b"<html><body><p>nothing</p></body></html>", encoding="utf-8",
                            request=Request(url, meta=meta))
    assert list(spider.parse(response)) == []
    stats = spider.crawler.stats.get_stats()
    assert stats["reviews/missing/reviews"] == 1
    assert stats["reviews/missing/company_website"] == 1


def test_review_event_has_the_stable_id_and_company_meta(spider: ReviewsSpider, catalogue: Catalogue) -> None:
    company = next(c for c in catalogue.companies if not c.missing)
    item = all_items(spider, company, catalogue.spec.reviews_per_page)[0]
    event = review_event(dict(item), "local")
    assert event.id == stable_id("crawl:local", f"{SITE}/review/{company.slug}", item["review_key"])
    assert event.id == review_event(dict(item), "local").id
    assert (event.kind, event.source, event.brand, event.text) == ("scraped", "local", company.name, item["comment"])
    assert event.ts == company.reviews[0].date
    assert event.meta["company_website"] == company.website
    assert event.meta["company_logo"] == item["company_logo"]


def test_politeness_is_on_by_default_and_overridable() -> None:
    polite = crawl_settings(profile="local", bootstrap=None, topic_raw="r", topic_brands="b")
    assert polite["ROBOTSTXT_OBEY"] is True and polite["AUTOTHROTTLE_ENABLED"] is True
    assert polite["CONCURRENT_REQUESTS_PER_DOMAIN"] <= 2 and polite["KAFKA_ENABLED"] is False
    fast = crawl_settings(profile="local", bootstrap="h:1", topic_raw="r", topic_brands="b", polite=False)
    assert fast["ROBOTSTXT_OBEY"] is False and fast["DOWNLOAD_DELAY"] == 0 and fast["KAFKA_BOOTSTRAP"] == "h:1"
