"""Control events on ``models.control`` (``TOPIC_CONTROL``): how a promote reaches every worker.

An event is JSON: ``{"action": "activate" | "register", "version", "path", "by", "at"}``.
``activate`` (sent by promote and rollback) makes every worker load ``path`` and score
with it from the next micro-batch; ``register`` announces a new candidate (workers with
``SHADOW_SCORING`` shadow it). The key is the action, so a compacted topic keeps the
last activation. Workers read the topic without a consumer group (each sees every event).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from kernel.settings import Settings

log = logging.getLogger(__name__)

ACTIONS = ("activate", "register")


def encode(event: dict[str, Any]) -> tuple[bytes, bytes]:
    """(key, value) of a control event."""
    from stream.registry.store import utc_now

    if event.get("action") not in ACTIONS:
        raise ValueError(f"control action {event.get('action')!r}: one of {', '.join(ACTIONS)}")
    value = {"at": utc_now().isoformat(), **event}
    return str(event["action"]).encode(), json.dumps(value).encode()


def decode(raw: bytes | None) -> dict[str, Any] | None:
    """The event in ``raw``, or None (logged) when it is not a usable control event."""
    try:
        event = json.loads(raw or b"")
        if isinstance(event, dict) and event.get("action") in ACTIONS and event.get("version") and event.get("path"):
            return event
    except ValueError:
        pass
    log.error("ignored a control event that is not {action, version, path} JSON: %r", (raw or b"")[:200])
    return None


def kafka_publisher(bootstrap: str, settings: Settings) -> Callable[[dict[str, Any]], None]:
    """A ``publish(event)`` that waits until the broker has the event (kafka-python, thread-safe)."""
    from kafka import KafkaProducer

    def publish(event: dict[str, Any]) -> None:
        key, value = encode(event)
        # One producer per event: promotes are rare, and no idle connection outlives the call.
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", client_id="reviewpulse-control")
        try:
            producer.send(settings.topic_control, key=key, value=value).get(timeout=settings.kafka_publish_timeout_s)
        finally:
            producer.close(timeout=5)
        log.info("published %s %s to %s", event["action"], event["version"], settings.topic_control)

    return publish
