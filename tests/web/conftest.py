"""Fixtures for the web tests: a real scoring loop on the real broker, and app clients.

``scoring_loop`` stands in for the Faust worker in TestClient tests: it consumes
``reviews.drafts`` and ``reviews.raw`` from the session broker, scores each event with
the tiny (untrained, real) char-CNN and publishes the ``ScoredReview`` on
``reviews.scored``, exactly the worker's contract, so the web app's request-reply
paths run for real. (It does not write ClickHouse; end-to-end storage is covered by
the browser tests against ``reviewpulse run``.)
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient

from reviewpulse.events import ReviewEvent, ScoredReview
from reviewpulse.settings import Settings
from web.passwords import hash_password

ADMIN_PASSWORD = "correct horse battery staple"
ADMIN_HASH = hash_password(ADMIN_PASSWORD, iterations=1000)


class ScoringLoop:
    """A minimal worker: one thread, kafka-python, tiny model; answers every draft and review."""

    def __init__(self, bootstrap: str, model_dir: Path, settings: Settings) -> None:
        from kafka import KafkaConsumer, KafkaProducer, TopicPartition

        from inference.scorer import Scorer

        self.settings = settings
        self.scorer = Scorer.load(model_dir, device="cpu", threads=1)
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        partitions = [
            TopicPartition(topic, number)
            for topic in (settings.topic_drafts, settings.topic_raw)
            for number in sorted(self.consumer.partitions_for_topic(topic) or ())
        ]
        self.consumer.assign(partitions)
        self.consumer.seek_to_end(*partitions)
        for partition in partitions:
            self.consumer.position(partition)
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
        self.answered = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-scoring-loop", daemon=True)
        self._thread.start()

    def score(self, text: str) -> Any:
        return self.scorer.score([text])[0]

    def _run(self) -> None:
        while not self._stop.is_set():
            for records in self.consumer.poll(timeout_ms=100).values():
                for record in records:
                    event = ReviewEvent.model_validate_json(record.value)
                    verdict = self.score(event.text)
                    scored = ScoredReview(
                        **event.model_dump(), probs=verdict.probs, score=verdict.score, label=verdict.label,
                        suggested_rating=verdict.suggested_rating, model_version=self.scorer.version,
                    )
                    self.producer.send(self.settings.topic_scored, scored.to_bytes(), key=event.key)
                    self.answered += 1
            self.producer.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        with contextlib.suppress(Exception):
            self.consumer.close()
            self.producer.close()


@pytest.fixture(scope="session")
def scoring_loop(broker: str, tiny_model_dir: Path) -> Iterator[ScoringLoop]:
    loop = ScoringLoop(broker, tiny_model_dir, Settings())
    yield loop
    loop.close()


def web_settings(broker: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "kafka_bootstrap": broker, "data_dir": tmp_path, "secure_cookies": False,
        "admin_password_hash": SecretStr(ADMIN_HASH), "session_secret": SecretStr("test-secret"),
        "ip_hash_salt": SecretStr("test-salt"), "predict_timeout_s": 10.0, "review_wait_timeout_s": 10.0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_client(
    broker: str, storage: Any, scoring_loop: ScoringLoop, tmp_path: Path
) -> Iterator[Callable[..., TestClient]]:
    """Build a started app (lifespan run) with settings overrides; all are closed after the test."""
    from reviewpulse.webserve import web_app

    stack = contextlib.ExitStack()

    def make(**overrides: Any) -> TestClient:
        app = web_app(web_settings(broker, tmp_path, **overrides), storage)
        return stack.enter_context(TestClient(app, client=("203.0.113.7", 50000)))

    with stack:
        yield make


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture(scope="module")
def browser_system(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                   tiny_model_dir: Path) -> Iterator[Any]:
    """``reviewpulse run`` (root conftest's ``start_system``) with the admin enabled over plain HTTP.

    Uses the trained model in ``models/charcnn`` when it exists, else the tiny one.
    """
    from reviewpulse.settings import DEFAULT_MODEL_DIR

    root = request.config.pluginmanager.get_plugin(str(Path(__file__).resolve().parents[1] / "conftest.py"))
    model_dir = DEFAULT_MODEL_DIR if (DEFAULT_MODEL_DIR / "model.json").exists() else tiny_model_dir
    system = root.start_system(
        tmp_path_factory.mktemp("web-system") / "var", model_dir,
        # SECURE_COOKIES stays at its default (true): `run` on a loopback address must still let
        # the admin log in over plain HTTP.
        ADMIN_PASSWORD_HASH=ADMIN_HASH, SESSION_SECRET="browser-test",
    )
    yield system
    system.stop()
