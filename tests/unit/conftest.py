"""The unit tier keeps its promise: no broker, no chDB, no browser, no child process.

Around every test in ``tests/unit`` (its fixtures' setup and teardown included) starting
the tansu broker, opening chDB or ClickHouse, launching Chromium or starting any other
process fails the test with the tier it belongs in. A test that asks for a fixture which
needs one of them (``broker``, ``storage``, ``running_system``, ...) fails before that
fixture is built, also when an earlier integration test of the same run already built it;
so does a test marked ``slow`` or ``browser``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

HERE = Path(__file__).resolve().parent

#: fixture -> (what it needs, the tier it belongs in); they live in tests/conftest.py and the tiers' conftests
NEEDY_FIXTURES = {
    "broker": ("the tansu broker", "tests/integration"), "own_broker": ("the tansu broker", "tests/integration"),
    "storage": ("chDB", "tests/integration"),
    "running_system": ("the whole system (`reviewpulse run`)", "tests/e2e"),
    "browser_system": ("the whole system (`reviewpulse run`)", "tests/e2e"),
}


def _belongs_elsewhere(needs: str, tier: str = "tests/integration", verb: str = "needs") -> NoReturn:
    pytest.fail(f"this test {verb} {needs}: it belongs in {tier}, not in tests/unit", pytrace=False)


def _process_needs(args: Any) -> str:
    argv = [str(args)] if isinstance(args, (str, bytes, os.PathLike)) else [str(part) for part in args]
    command = " ".join(argv)
    if "tansu" in command:
        return "the tansu broker"
    if "chrom" in command.lower():
        return "Chromium"
    return f"a child process ({command[:120]})"


@contextlib.contextmanager
def unit_guard() -> Iterator[None]:
    """Make the heavy parts fail loudly while the block runs."""
    import clickhouse_connect
    import mode.utils.cron  # noqa: F401 - imported first: its croniter runs `file -b python` at import
    from selenium import webdriver

    from reviewpulse.broker import EmbeddedBroker

    def no_broker(*args: Any, **kwargs: Any) -> NoReturn:
        _belongs_elsewhere("the tansu broker")

    def no_chdb(*args: Any, **kwargs: Any) -> NoReturn:
        _belongs_elsewhere("chDB / ClickHouse")

    def no_browser(*args: Any, **kwargs: Any) -> NoReturn:
        _belongs_elsewhere("Chromium", "tests/e2e")

    def no_popen(self: Any, args: Any, *rest: Any, **kwargs: Any) -> NoReturn:
        _belongs_elsewhere(_process_needs(args))

    def no_system(command: Any, *rest: Any, **kwargs: Any) -> NoReturn:
        _belongs_elsewhere(_process_needs(command))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(EmbeddedBroker, "start", no_broker)
        patch.setattr("chdb.connect", no_chdb)  # what clickhouse-connect's chdb:// backend calls
        patch.setattr("chdb.query", no_chdb)
        patch.setattr(clickhouse_connect, "get_client", no_chdb)
        patch.setattr(clickhouse_connect, "create_client", no_chdb)
        patch.setattr(webdriver, "Chrome", no_browser)
        patch.setattr(subprocess.Popen, "__init__", no_popen)
        patch.setattr(os, "system", no_system)
        for name in ("posix_spawn", "posix_spawnp"):
            if hasattr(os, name):
                patch.setattr(os, name, no_system)
        yield


def _in_unit_tier(item: pytest.Item) -> bool:
    return HERE in Path(str(item.path)).resolve().parents


def pytest_runtest_setup(item: pytest.Item) -> None:
    if _in_unit_tier(item):
        for marker in ("slow", "browser"):
            if item.get_closest_marker(marker):
                _belongs_elsewhere(f"marked {marker!r}", "tests/e2e" if marker == "browser" else "tests/integration", "is")
        needy = sorted(set(item.fixturenames) & NEEDY_FIXTURES.keys())
        if needy:
            needs, tier = NEEDY_FIXTURES[needy[0]]
            _belongs_elsewhere(f"{needs} (fixture {needy[0]!r})", tier)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    if not _in_unit_tier(item):
        yield
        return
    with unit_guard():
        yield
