"""Item pipelines: publish every review to Kafka ``reviews.raw`` as it is scraped.

Each review becomes a ``ReviewEvent(kind="scraped")`` whose id is
``stable_id("crawl:<profile>", company_url, review_key)``, so a re-crawl or a resumed crawl
republishes the same ids and storage (ReplacingMergeTree on id) keeps one row each. Each
company is also published once per crawl as a ``Brand`` (with website and logo) to the
brands topic. Sending is asynchronous and batched; ``close_spider`` flushes and records
``kafka/delivered`` (reviews), ``kafka/brands_delivered`` and ``kafka/failed`` in the crawl stats.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector

from kernel.events import Brand, Kind, ReviewEvent, stable_id
from kernel.settings import Settings, get_settings
from producers.kafka_publisher import KafkaPublisher


def review_event(item: Any, profile: str) -> ReviewEvent:
    """The Kafka event for one scraped review item."""
    return ReviewEvent(
        id=stable_id(f"crawl:{profile}", item["company_url"], item["review_key"]),
        kind=Kind.scraped, text=item["comment"], brand=item["company_name"], rating=item.get("rating"),
        source=profile, url=item["page_url"],
        ts=datetime.fromisoformat(item["review_date"]) if item.get("review_date") else datetime.now().astimezone(),
        meta={"company_website": item.get("company_website") or "", "company_logo": item.get("company_logo") or "",
              "company_url": item["company_url"], "reviewer": item.get("reviewer") or ""},
    )


class KafkaPipeline:
    stats: StatsCollector  # the crawl's, set by from_crawler

    def __init__(self, bootstrap: str, topic_raw: str, topic_brands: str, profile: str, linger_ms: int) -> None:
        self.bootstrap, self.topic_raw, self.topic_brands = bootstrap, topic_raw, topic_brands
        self.profile, self.linger_ms = profile, linger_ms
        self.publisher: KafkaPublisher | None = None
        self.brands_sent: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> KafkaPipeline:
        scrapy_settings = crawler.settings
        if not scrapy_settings.getbool("KAFKA_ENABLED", True):
            raise NotConfigured("KAFKA_ENABLED is off")
        settings = get_settings()
        bootstrap = scrapy_settings.get("KAFKA_BOOTSTRAP") or _resolve(settings)
        if not bootstrap:
            raise RuntimeError("no Kafka broker: start `reviewpulse run` or set KAFKA_BOOTSTRAP "
                               "(or run with -s KAFKA_ENABLED=0 for a feed-only crawl)")
        pipeline = cls(bootstrap, scrapy_settings.get("KAFKA_TOPIC_RAW") or settings.topic_raw,
                       scrapy_settings.get("KAFKA_TOPIC_BRANDS") or settings.topic_brands,
                       load_profile_name(scrapy_settings.get("SITE_PROFILE", "local")),
                       scrapy_settings.getint("KAFKA_LINGER_MS", 20))
        pipeline.stats = crawler.stats
        return pipeline

    def open_spider(self, spider: Spider) -> None:
        self.publisher = KafkaPublisher(self.bootstrap, client_id="reviewpulse-crawler", linger_ms=self.linger_ms)

    def process_item(self, item: Any, spider: Spider) -> Any:
        assert self.publisher is not None
        self.publisher.publish_review(self.topic_raw, review_event(item, self.profile))
        self.stats.inc_value("kafka/queued")
        if item["company_url"] not in self.brands_sent:
            self.brands_sent.add(item["company_url"])
            self.publisher.publish_brand(self.topic_brands, Brand(
                name=item["company_name"], website=item.get("company_website") or "",
                logo=item.get("company_logo") or "", category=item.get("category") or "",
                sub_category=item.get("sub_category") or "", url=item["company_url"], source=self.profile))
        return item

    def close_spider(self, spider: Spider) -> None:
        if self.publisher is None:
            return
        self.publisher.close()
        self.stats.set_value("kafka/delivered", self.publisher.delivered_by_topic[self.topic_raw])
        self.stats.set_value("kafka/brands_delivered", self.publisher.delivered_by_topic[self.topic_brands])
        self.stats.set_value("kafka/failed", self.publisher.failed)
        if self.publisher.failed:
            spider.logger.error("%d events were not published; re-run the crawl (ids are stable)",
                                self.publisher.failed)


def _resolve(settings: Settings) -> str | None:
    from kernel.runfile import resolve_bootstrap

    return resolve_bootstrap(settings)


def load_profile_name(profile: str) -> str:
    """The profile's ``name`` (the event source), also when the setting is a file path."""
    from producers.site_profile import load_profile

    return load_profile(profile).name
