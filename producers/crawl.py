"""Run the Scrapy reviews spider in-process and summarise what it did.

:func:`crawl_settings` maps ReviewPulse settings and command options onto the Scrapy
project's settings; :func:`run_crawl` runs one crawl (Twisted's reactor starts once per
process, so a second crawl needs a new process: the CLI is that process).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernel.settings import Settings
from producers.crawler.reviews_crawler import settings as project_settings


@dataclass
class CrawlSummary:
    stats: dict[str, Any]
    elapsed_s: float
    items: int = 0
    pages: int = 0
    published: int = 0
    publish_failed: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    missing: dict[str, int] = field(default_factory=dict)
    finish_reason: str = ""

    @classmethod
    def from_stats(cls, stats: dict[str, Any], elapsed_s: float) -> CrawlSummary:
        def by_prefix(prefix: str) -> dict[str, int]:
            return {k.removeprefix(prefix): int(v) for k, v in stats.items() if k.startswith(prefix)}

        return cls(
            stats=stats, elapsed_s=elapsed_s, items=int(stats.get("item_scraped_count", 0)),
            pages=int(stats.get("response_received_count", 0)), published=int(stats.get("kafka/delivered", 0)),
            publish_failed=int(stats.get("kafka/failed", 0)), skipped=by_prefix("reviews/skipped/"),
            missing=by_prefix("reviews/missing/"), finish_reason=str(stats.get("finish_reason", "")),
        )

    @property
    def items_per_s(self) -> float:
        return self.items / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.elapsed_s if self.elapsed_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items, "pages": self.pages, "published": self.published,
            "publish_failed": self.publish_failed, "skipped": self.skipped, "missing": self.missing,
            "elapsed_s": round(self.elapsed_s, 3), "items_per_s": round(self.items_per_s, 1),
            "pages_per_s": round(self.pages_per_s, 1), "finish_reason": self.finish_reason,
        }


def crawl_settings(*, profile: str, bootstrap: str | None, topic_raw: str, topic_brands: str,
                   polite: bool = True, jobdir: Path | None = None, feed: Path | None = None,
                   max_items: int = 0, log_level: str = "INFO",
                   limits: Settings | None = None) -> dict[str, Any]:
    """Scrapy settings for one crawl; ``bootstrap=None`` turns publishing off (feed-only crawl).

    ``limits`` supplies CRAWL_MAX_DEPTH / CRAWL_MAX_PAGES / CRAWL_MAX_PAGE_BYTES (default: the
    project settings' own defaults)."""
    values: dict[str, Any] = {
        name: getattr(project_settings, name) for name in dir(project_settings) if name.isupper()
    }
    values.pop("IMPOLITE")
    if limits is not None:
        values.update(DEPTH_LIMIT=limits.crawl_max_depth, CLOSESPIDER_PAGECOUNT=limits.crawl_max_pages,
                      DOWNLOAD_MAXSIZE=limits.crawl_max_page_bytes,
                      DOWNLOAD_WARNSIZE=limits.crawl_max_page_bytes // 4)
    if not polite:
        values.update(project_settings.IMPOLITE)
    values.update(SITE_PROFILE=profile, KAFKA_ENABLED=bootstrap is not None, KAFKA_BOOTSTRAP=bootstrap or "",
                  KAFKA_TOPIC_RAW=topic_raw, KAFKA_TOPIC_BRANDS=topic_brands, LOG_LEVEL=log_level,
                  LOG_INSTALL_ROOT_HANDLER=False)  # records go to kernel.logs' handler
    if jobdir:
        values["JOBDIR"] = str(jobdir)
    if feed:
        feed_format = "csv" if feed.suffix == ".csv" else "jsonlines"
        values["FEEDS"] = {str(feed): {"format": feed_format, "encoding": "utf-8", "overwrite": False}}
    if max_items:
        values["CLOSESPIDER_ITEMCOUNT"] = max_items
    return values


def run_crawl(scrapy_values: dict[str, Any], companies_csv: Path | None = None,
              start_urls: list[str] | None = None, allowed_hosts: list[str] | None = None) -> CrawlSummary:
    """Crawl the given companies (CSV and/or URLs) and return the summary (blocks until done).

    ``allowed_hosts`` (e.g. the discovery start URL's host) bounds the crawl; without it the
    spider derives them from the profile or the company URLs (see ``producers.scope``)."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings as ScrapySettings

    from producers.crawler.reviews_crawler.spiders.reviews import ReviewsSpider

    process = CrawlerProcess(ScrapySettings(scrapy_values))
    crawler = process.create_crawler(ReviewsSpider)
    started = time.perf_counter()
    process.crawl(crawler, companies=str(companies_csv or ""), start_urls=",".join(start_urls or []),
                  allowed_hosts=",".join(allowed_hosts or []))
    process.start()
    elapsed_s = time.perf_counter() - started
    return CrawlSummary.from_stats(dict(crawler.stats.get_stats() or {}), elapsed_s)
