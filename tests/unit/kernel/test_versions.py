"""Every library workaround refuses to run on a library version it was not written for."""

from __future__ import annotations

from importlib import metadata

import pytest

from kernel import versions
from reviewpulse import uvicorn_server
from stream.worker import faust_patches


@pytest.mark.parametrize("distribution", sorted(versions.WRITTEN_FOR))
def test_the_installed_libraries_are_the_versions_the_workarounds_were_written_for(distribution: str) -> None:
    versions.require_version(distribution, "test")
    assert versions.major_minor(metadata.version(distribution)) == versions.WRITTEN_FOR[distribution]


@pytest.mark.parametrize("installed", ["0.16.0", "1.15.3", "0.14.9"])
def test_another_major_or_minor_fails_loudly_naming_the_workaround_and_the_fix(
        monkeypatch: pytest.MonkeyPatch, installed: str) -> None:
    monkeypatch.setattr(versions.metadata, "version", lambda name: installed)
    with pytest.raises(versions.CompatError) as raised:
        versions.require_version("faust-streaming", "the Faust fetch-wait patch")
    message = str(raised.value)
    assert "the Faust fetch-wait patch" in message and installed in message
    assert "0.15.x" in message and "stream/worker/faust_patches.py" in message and "kernel/versions.py" in message


def test_a_patch_release_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(versions.metadata, "version", lambda name: versions.WRITTEN_FOR[name] + ".99")
    versions.require_version("uvicorn", "test")


def test_every_workaround_checks_its_version_before_patching(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a wrong version none of the three workarounds touches the library."""
    monkeypatch.setattr(versions.metadata, "version", lambda name: "99.0.0")
    original = faust_patches.faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer
    with pytest.raises(versions.CompatError, match="faust-streaming"):
        faust_patches.shorten_fetch_wait(20)
    assert faust_patches.faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer is original
    with pytest.raises(versions.CompatError, match="faust-streaming"):
        faust_patches.SignalSafeWorker(object(), log_level="INFO", setup_logging=lambda: None, on_ready=lambda: None,
                                       on_force_exit=lambda: None, stop_grace_s=1.0, ready_wait_s=1.0)
    with pytest.raises(versions.CompatError, match="uvicorn"):
        uvicorn_server.ServerWithoutSignals(uvicorn_server.uvicorn.Config(app=None, log_config=None))


def test_the_fetch_wait_patch_sets_the_wait_once_however_often_it_is_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    thread = faust_patches.faust_aiokafka.AIOKafkaConsumerThread
    monkeypatch.setattr(thread, "_create_worker_consumer", lambda self, transport: type("C", (), {})())
    faust_patches.shorten_fetch_wait(20)
    faust_patches.shorten_fetch_wait(30)
    consumer = thread._create_worker_consumer(None, None)
    assert consumer._fetch_max_wait_ms == 30
    assert not hasattr(thread._create_worker_consumer.__wrapped__, "__wrapped__")
