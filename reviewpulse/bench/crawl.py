"""``reviewpulse bench crawl``: crawl and publish speed on this machine, each with a baseline.

Crawl: the local demo site (default size, slow page delay 0) crawled with politeness off,
once feed-only (baseline) and once publishing to a private embedded broker, each in its own
process (Twisted's reactor runs once per process), so the ratio is the cost of the Kafka
pipeline. Publish: the crawler's batched ``acks=all`` producer against one send-and-wait
per message (baseline).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from kernel.events import Kind, ReviewEvent
from kernel.settings import Settings, get_settings
from producers.companies import DiscoveredCompany, write_companies_csv
from producers.demo_site import Catalogue, DemoSiteServer, SiteSpec
from producers.kafka_publisher import KafkaPublisher
from reviewpulse.bench.report import ratio
from reviewpulse.commands.common import REVIEWPULSE


def crawl_in_subprocess(companies_csv: Path, stats_json: Path, bootstrap: str | None) -> dict[str, Any]:
    """Run ``reviewpulse crawl --skip-discovery --no-polite`` in a child; its summary as a dict."""
    command = [*REVIEWPULSE, "crawl", "--skip-discovery", "--no-polite",
               "--companies", str(companies_csv), "--stats-json", str(stats_json)]
    command += ["--bootstrap", bootstrap] if bootstrap else ["--no-publish"]
    subprocess.run(command, check=True, capture_output=True)
    return json.loads(stats_json.read_text(encoding="utf-8"))


def publish_rate(bootstrap: str, topic: str, messages: int, batched: bool) -> float:
    """Messages per second acknowledged by the broker (acks=all)."""
    events = [ReviewEvent(kind=Kind.scraped, text=f"benchmark review number {i}, quite good", brand=f"b{i % 50}")
              for i in range(messages)]
    publisher = KafkaPublisher(bootstrap, client_id="reviewpulse-bench", linger_ms=20 if batched else 0)
    started = time.perf_counter()
    for event in events:
        publisher.publish_review(topic, event)
        if not batched:
            publisher.flush()
    publisher.flush()
    elapsed_s = time.perf_counter() - started
    publisher.close()
    if publisher.delivered != messages:
        raise RuntimeError(f"only {publisher.delivered} of {messages} messages were acknowledged")
    return messages / elapsed_s


def run_bench(batched_messages: int = 20_000, unbatched_messages: int = 1_000) -> dict[str, float | int | str]:
    """Figures as a dict: crawl items/s and pages/s, publish messages/s, each against its baseline."""
    from kernel.topics import ensure_topics
    from reviewpulse.broker import EmbeddedBroker

    settings = get_settings()
    catalogue = Catalogue(SiteSpec(reviews_csv=settings.demo_reviews_csv, slow_page_delay_s=0.0))
    with tempfile.TemporaryDirectory() as tmp, DemoSiteServer(catalogue) as site, \
            EmbeddedBroker(Path(tmp) / "broker") as broker:
        bench_settings = Settings(kafka_bootstrap=broker.bootstrap)
        ensure_topics(broker.bootstrap, bench_settings)
        companies_csv = Path(tmp) / "companies.csv"
        write_companies_csv(companies_csv, [
            DiscoveredCompany(c.category, c.sub_category, c.name, f"{site.url}/review/{c.slug}")
            for c in catalogue.companies
        ])
        feed_only = crawl_in_subprocess(companies_csv, Path(tmp) / "feed-only.json", None)
        kafka = crawl_in_subprocess(companies_csv, Path(tmp) / "kafka.json", broker.bootstrap)
        batched = publish_rate(broker.bootstrap, bench_settings.topic_raw, batched_messages, batched=True)
        unbatched = publish_rate(broker.bootstrap, bench_settings.topic_raw, unbatched_messages, batched=False)
    return {
        "site_companies": len(catalogue.companies),
        "crawl_items": kafka["items"],
        "crawl_pages": kafka["pages"],
        "crawl_items_per_s": kafka["items_per_s"],
        "crawl_pages_per_s": kafka["pages_per_s"],
        "crawl_feed_only_items_per_s": feed_only["items_per_s"],
        "crawl_kafka_vs_feed_only": ratio(kafka["items_per_s"], feed_only["items_per_s"], 3),
        "publish_batched_msgs_per_s": round(batched, 1),
        "publish_unbatched_msgs_per_s": round(unbatched, 1),
        "publish_batched_vs_unbatched": ratio(batched, unbatched),
    }
