"""Every library workaround refuses to run on a library version it was not written for."""

from __future__ import annotations

from importlib import metadata

import pytest

from reviewpulse import compat


@pytest.mark.parametrize("distribution", sorted(compat.WRITTEN_FOR))
def test_the_installed_libraries_are_the_versions_the_workarounds_were_written_for(distribution: str) -> None:
    compat.require_version(distribution, "test")
    assert compat.major_minor(metadata.version(distribution)) == compat.WRITTEN_FOR[distribution]


@pytest.mark.parametrize("installed", ["0.16.0", "1.15.3", "0.14.9"])
def test_another_major_or_minor_fails_loudly_naming_the_workaround_and_the_fix(
        monkeypatch: pytest.MonkeyPatch, installed: str) -> None:
    monkeypatch.setattr(compat.metadata, "version", lambda name: installed)
    with pytest.raises(compat.CompatError) as raised:
        compat.require_version("faust-streaming", "the Faust fetch-wait patch")
    message = str(raised.value)
    assert "the Faust fetch-wait patch" in message and installed in message
    assert "0.15.x" in message and "reviewpulse/compat.py" in message


def test_a_patch_release_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compat.metadata, "version", lambda name: compat.WRITTEN_FOR[name] + ".99")
    compat.require_version("uvicorn", "test")


def test_every_workaround_checks_its_version_before_patching(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a wrong version none of the three workarounds touches the library."""
    monkeypatch.setattr(compat.metadata, "version", lambda name: "99.0.0")
    original = compat.faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer
    with pytest.raises(compat.CompatError, match="faust-streaming"):
        compat.shorten_fetch_wait(20)
    assert compat.faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer is original
    with pytest.raises(compat.CompatError, match="faust-streaming"):
        compat.SignalSafeWorker(object(), log_level="INFO", setup_logging=lambda: None, on_ready=lambda: None,
                                on_force_exit=lambda: None, stop_grace_s=1.0, ready_wait_s=1.0)
    with pytest.raises(compat.CompatError, match="uvicorn"):
        compat.ServerWithoutSignals(compat.uvicorn.Config(app=None, log_config=None))


def test_the_fetch_wait_patch_sets_the_wait_once_however_often_it_is_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    thread = compat.faust_aiokafka.AIOKafkaConsumerThread
    monkeypatch.setattr(thread, "_create_worker_consumer", lambda self, transport: type("C", (), {})())
    compat.shorten_fetch_wait(20)
    compat.shorten_fetch_wait(30)
    consumer = thread._create_worker_consumer(None, None)
    assert consumer._fetch_max_wait_ms == 30
    assert not hasattr(thread._create_worker_consumer.__wrapped__, "__wrapped__")
