"""The one place that knows which topics exist and how many partitions each has."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from kernel.settings import Settings

if TYPE_CHECKING:
    from kafka import KafkaAdminClient

log = logging.getLogger(__name__)


def topic_partitions(settings: Settings) -> dict[str, int]:
    """Topic name -> partition count, from the settings."""
    return {
        settings.topic_raw: settings.topic_partitions,
        settings.topic_drafts: settings.drafts_partitions,
        settings.topic_scored: settings.scored_partitions,
        settings.topic_dead: settings.dead_partitions,
        settings.topic_brands: 1,
        settings.topic_control: 1,
    }


def topic_configs(name: str, settings: Settings) -> dict[str, str]:
    """Per-topic configuration: drafts expire; the control topic keeps the last event per key."""
    if name == settings.topic_drafts:
        return {"retention.ms": str(settings.drafts_retention_ms)}
    if name == settings.topic_control:
        return {"cleanup.policy": "compact"}
    return {}


def ensure_topics(bootstrap: str, settings: Settings) -> None:
    """Create every topic that is missing (idempotent: existing topics are left as they are)."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    wanted = topic_partitions(settings)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="reviewpulse-topics")
    try:
        existing = set(admin.list_topics())
        for name, partitions in wanted.items():
            if name in existing:
                continue
            try:
                admin.create_topics([NewTopic(name, partitions, 1, topic_configs=topic_configs(name, settings))])
                log.info("created topic %s (%d partitions)", name, partitions)
            except TopicAlreadyExistsError:
                pass
        _wait_for_metadata(admin, set(wanted))
    finally:
        admin.close()


def _wait_for_metadata(admin: KafkaAdminClient, names: set[str], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if names <= set(admin.list_topics()):
            return
        time.sleep(0.1)
    raise RuntimeError(f"topics {sorted(names)} not visible after {timeout_s}s")
