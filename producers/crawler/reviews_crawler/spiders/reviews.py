"""The reviews spider: every review page of every discovered company, one item per review.

Selectors come from the site profile (``-a profile=local``). A field missing on a page is
counted (``reviews/missing/<field>``) and logged with the URL; a review that cannot be used
(no text, empty text) is skipped and counted (``reviews/skipped/<reason>``); a page that
fails (404, timeout) is counted as ``reviews/skipped/http_<status>`` or ``.../<error>``.
Nothing on a page crashes the crawl.

The spider stays in its scope (``producers.scope``): ``allowed_domains`` are the hosts it was
started for (``-a allowed_hosts=``, else the profile's ``allowed_domains``, else the company
URLs' hosts), and a company URL or "next page" link that is off-site or not http(s) is never
requested: it is counted as ``reviews/skipped/offsite`` or ``.../unsupported_scheme``.
Scrapy's OffsiteMiddleware applies the same ``allowed_domains`` to redirects.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Self, cast

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from producers.companies import DiscoveredCompany, read_companies_csv
from producers.crawler.reviews_crawler.items import ReviewItem
from producers.scope import allowed_hosts as scope_hosts
from producers.scope import refusal
from producers.site_profile import CrawlSelectors, SiteProfile, load_profile

PSEUDO_ELEMENT = re.compile(r"::(text|attr\([^)]*\))$")


class ReviewsSpider(scrapy.Spider):
    name = "reviews"
    # Set by from_crawler, once the crawler's settings (SITE_PROFILE) are known.
    profile: SiteProfile
    selectors: CrawlSelectors
    rating_pattern: re.Pattern[str]
    companies: list[DiscoveredCompany]
    allowed_domains: list[str]  # read by Scrapy's OffsiteMiddleware

    def __init__(self, companies: str = "", start_urls: str = "", profile: str = "", allowed_hosts: str = "",
                 **kwargs: Any) -> None:
        """``companies``: a discovery CSV; ``start_urls``: comma-separated company URLs instead;
        ``allowed_hosts``: comma-separated hosts the crawl may visit (see the module docstring)."""
        super().__init__(**kwargs)
        self.companies_csv = companies
        self.company_urls = [url.strip() for url in start_urls.split(",") if url.strip()]
        self.profile_name = profile
        self.hosts_given = [host.strip().lower() for host in allowed_hosts.split(",") if host.strip()]

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.profile = load_profile(spider.profile_name or crawler.settings.get("SITE_PROFILE", "local"))
        spider.selectors = spider.profile.crawl
        spider.rating_pattern = re.compile(spider.selectors.rating_pattern)
        spider.companies = spider._companies()
        spider.allowed_domains = spider.hosts_given or scope_hosts(
            [company.url for company in spider.companies], spider.profile.allowed_domains)
        return spider

    def _companies(self) -> list[DiscoveredCompany]:
        companies = read_companies_csv(Path(self.companies_csv)) if self.companies_csv else []
        return companies + [DiscoveredCompany("", "", "", url) for url in self.company_urls]

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for company in self.companies:
            if not self.in_scope(company.url):
                continue
            meta = {"company": {"url": company.url, "name": company.name, "category": company.category,
                                "sub_category": company.sub_category}}
            yield scrapy.Request(company.url, callback=self.parse, errback=self.on_error, meta=meta)

    def in_scope(self, url: str) -> bool:
        """True when ``url`` is http(s) on an allowed host; otherwise counted as skipped and False."""
        reason = refusal(url, self.allowed_domains)
        if reason:
            self.count("skipped", reason, url)
        return reason is None

    def count(self, kind: str, reason: str, url: str) -> None:
        self.crawler.stats.inc_value(f"reviews/{kind}/{reason}")
        self.logger.warning("%s %s on %s", kind, reason, url)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[ReviewItem | scrapy.Request]:
        sel, company = self.selectors, response.meta["company"]
        details = {
            "company_url": company["url"], "category": company["category"],
            "sub_category": company["sub_category"], "page_url": response.url,
            "company_name": self.first(response, sel.company_name, "company_name", response.url) or company["name"],
            "company_website": self.first(response, sel.company_website, "company_website", response.url),
            "company_logo": self.first(response, sel.company_logo, "company_logo", response.url),
        }
        if details["company_logo"]:
            details["company_logo"] = response.urljoin(details["company_logo"])
        reviews = response.css(sel.review)
        if not reviews:
            self.count("missing", "reviews", response.url)
        for review in reviews:
            if len(review.css(sel.review)) > 1:  # css() matches the element itself too
                self.count("skipped", "nested_review_markup", response.url)  # unclosed tags upstream
                continue
            # Scrapy's SelectorList holds scrapy.Selector objects but is typed as parsel's list.
            item = self.parse_review(cast(scrapy.Selector, review), response.url)
            if item is not None:
                item.update(details)
                yield item
        next_page = response.css(sel.next_page).get()
        if next_page and self.in_scope(response.urljoin(next_page)):
            yield response.follow(next_page, callback=self.parse, errback=self.on_error, meta=response.meta)

    def first(self, node: scrapy.Selector | Response, selector: str, field: str, url: str) -> str:
        """The first match, stripped; "" (counted and logged as missing) when there is none."""
        value = (node.css(selector).get() or "").strip()
        if not value:
            self.count("missing", field, url)
        return value

    def parse_review(self, review: scrapy.Selector, url: str) -> ReviewItem | None:
        comment = " ".join(" ".join(review.css(self.selectors.text).getall()).split())
        if not comment:
            text_element = PSEUDO_ELEMENT.sub("", self.selectors.text)
            # An element with nothing in it is an empty review; no element at all is broken markup.
            self.count("skipped", "empty_text" if review.css(text_element) else "no_text", url)
            return None
        rating_text = review.css(self.selectors.rating).get() or ""
        match = self.rating_pattern.search(rating_text)
        if not match:
            self.count("missing", "rating", url)
        date = self.parse_date(self.first(review, self.selectors.date, "date", url), url)
        key = (review.css(self.selectors.review_key).get() or "").strip()
        if not key:
            self.count("missing", "review_key", url)
            key = hashlib.sha1(f"{date}\x1f{comment}".encode()).hexdigest()
        return ReviewItem(review_key=key, comment=comment, rating=int(match.group(1)) if match else None,
                          review_date=date, reviewer=self.first(review, self.selectors.reviewer, "reviewer", url))

    def parse_date(self, value: str, url: str) -> str | None:
        if not value:
            return None
        try:
            return datetime.fromisoformat(value).isoformat()
        except ValueError:
            self.count("missing", "date_format", url)
            return None

    def on_error(self, failure: Failure) -> None:
        # Scrapy sets .request on the Failure it hands an errback; Twisted's Failure does not declare it.
        request = failure.request  # type: ignore[attr-defined]
        if isinstance(failure.value, HttpError):
            reason = f"http_{failure.value.response.status}"
        else:
            reason = failure.type.__name__ if failure.type else "error"
        self.count("skipped", reason, request.url)
