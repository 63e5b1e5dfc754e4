"""The producers tests' demo site (served from a thread) and Kafka/CLI helpers, for every tier.

Each tier's ``producers/conftest.py`` imports the fixtures from here.

The site is small (about 60 companies, 400 reviews) so a full crawl takes seconds; its
content is fixed by the seed, so every test knows exactly what a crawl must find.
"""

from __future__ import annotations

import logging
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernel.events import Brand, ReviewEvent
from kernel.settings import Settings, get_settings
from producers.companies import DiscoveredCompany, write_companies_csv
from producers.demo_site import Catalogue, DemoSiteServer, SiteSpec
from tests.conftest import REPO, REVIEWPULSE

SMALL_SITE = SiteSpec(seed=11, categories=2, min_companies=11, max_companies=13, min_reviews=4, max_reviews=9,
                      slow_page_delay_s=0.3, reviews_csv=get_settings().demo_reviews_csv)


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return Catalogue(SMALL_SITE)


UVICORN_LOGGERS = ("uvicorn.error", "uvicorn.access", "uvicorn.asgi")


@pytest.fixture(scope="session")
def demo_site(catalogue: Catalogue) -> Iterator[str]:
    """The demo site for the session; the uvicorn loggers are left as they were found.

    Building the server pins the uvicorn loggers' levels and cuts ``uvicorn.access`` off the
    root handler for the whole process; a later test of the logging set-up must not depend
    on whether this fixture ran first.
    """
    saved = [(logging.getLogger(name), logging.getLogger(name).level, logging.getLogger(name).propagate)
             for name in UVICORN_LOGGERS]
    with DemoSiteServer(catalogue) as server:
        for logger, level, propagate in saved:
            logger.setLevel(level)
            logger.propagate = propagate
        yield server.url


def company_rows(catalogue: Catalogue, site_url: str) -> list[DiscoveredCompany]:
    return [DiscoveredCompany(c.category, c.sub_category, c.name, f"{site_url}/review/{c.slug}")
            for c in catalogue.companies]


@pytest.fixture
def companies_csv(catalogue: Catalogue, demo_site: str, tmp_path: Path) -> Path:
    path = tmp_path / "companies.csv"
    write_companies_csv(path, company_rows(catalogue, demo_site))
    return path


def unique_topics(bootstrap: str) -> Settings:
    """Settings with fresh raw/brands topic names (created on the broker), so tests never share data."""
    from kernel.topics import ensure_topics

    suffix = uuid.uuid4().hex[:8]
    settings = Settings(kafka_bootstrap=bootstrap, topic_raw=f"test.raw.{suffix}",
                        topic_brands=f"test.brands.{suffix}")
    ensure_topics(bootstrap, settings)
    return settings


def consume_all(bootstrap: str, topic: str, idle_ms: int = 3000) -> list[bytes]:
    """Every message value on every partition of ``topic``, from the beginning (group-less)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                             consumer_timeout_ms=idle_ms, auto_offset_reset="earliest")
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        return [message.value for message in consumer]
    finally:
        consumer.close()


def consume_reviews(bootstrap: str, topic: str) -> list[ReviewEvent]:
    return [ReviewEvent.model_validate_json(raw) for raw in consume_all(bootstrap, topic)]


def consume_brands(bootstrap: str, topic: str) -> list[Brand]:
    return [Brand.model_validate_json(raw) for raw in consume_all(bootstrap, topic)]


def cli_env(tmp_path: Path, settings: Settings, **extra: str) -> dict[str, str]:
    """Environment of a ``reviewpulse`` child: this test's topics and folders, quiet logs."""
    env = {key: value for key, value in os.environ.items() if key.upper() != "KAFKA_BOOTSTRAP"}
    env.update(TOPIC_RAW=settings.topic_raw, TOPIC_BRANDS=settings.topic_brands, CRAWL_DIR=str(tmp_path / "crawl"),
               DATA_DIR=str(tmp_path / "var"), LOG_LEVEL="WARNING", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def run_cli(args: list[str], env: dict[str, str], timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*REVIEWPULSE, *args], env=env, cwd=REPO, capture_output=True, text=True,
                            timeout=timeout_s)
    assert result.returncode == 0, f"reviewpulse {' '.join(args)} failed:\n{result.stdout}\n{result.stderr[-4000:]}"
    return result
