"""kernel.memory: the scoring process's allocator settings, and handing memory back only after a burst."""

from __future__ import annotations

import asyncio

import pytest

from kernel import memory
from kernel.memory import ALLOCATOR_TUNABLES, KERNEL_CACHE_SHAPES, QuietTrim, scoring_environment


def test_the_scoring_environment_adds_the_settings_and_keeps_what_was_set() -> None:
    env = scoring_environment(environ={"PATH": "/bin"})
    assert env == {"PATH": "/bin", "GLIBC_TUNABLES": ALLOCATOR_TUNABLES,
                   "ONEDNN_PRIMITIVE_CACHE_CAPACITY": str(KERNEL_CACHE_SHAPES)}
    own = {"GLIBC_TUNABLES": "glibc.malloc.arena_max=2", "ONEDNN_PRIMITIVE_CACHE_CAPACITY": "1024"}
    assert scoring_environment(environ=own) == own
    assert "GLIBC_TUNABLES" not in scoring_environment(lean=False, environ={})


def test_release_free_memory_trims_with_glibc() -> None:
    assert memory.release_free_memory() is True  # this machine runs glibc


def test_quiet_trim_waits_for_the_work_to_stop_and_trims_once_per_burst(monkeypatch: pytest.MonkeyPatch) -> None:
    trims: list[int] = []
    work = [0]
    monkeypatch.setattr(memory, "release_free_memory", lambda: trims.append(work[0]) or True)
    quiet = QuietTrim(lambda: work[0])

    def checks(*amounts: int) -> list[int]:
        for amount in amounts:
            work[0] += amount
            asyncio.run(quiet.check())
        return trims

    assert checks(0, 0) == [], "nothing was done: nothing to hand back"
    assert checks(50, 80) == [], "still working"
    assert checks(0) == [130], "quiet after a burst: trimmed"
    assert checks(0, 0) == [130], "once per burst"
    assert checks(10, 0) == [130, 140]
