"""Automatic retraining (off by default): ``RETRAIN_EVERY_ROWS`` new labelled rows start a retrain.

The running system (the web app's lifespan, so ``reviewpulse run``; in a scaled-out
deployment set it on ONE web replica) counts labelled rows stored since the last
automatic retrain every ``RETRAIN_CHECK_INTERVAL_S``. At the threshold it starts
``reviewpulse retrain --json`` as a separate process — training never runs on the
event loop or in the worker — with ``--no-promote`` unless ``AUTO_PROMOTE`` is on, and
even then the candidate is promoted only if it passes the gates (never ``--force``).
One retrain at a time; its output goes to ``DATA_DIR/retrain.log``, and
``DATA_DIR/retrain-state.json`` remembers when the last one started (across restarts).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kernel.settings import Settings
from stream.storage.labelled import count_labelled

log = logging.getLogger(__name__)
STATE_FILE = "retrain-state.json"
LOG_FILE = "retrain.log"


def retrain_argv(settings: Settings, command: list[str]) -> list[str]:
    """``command`` (the argv that runs ``reviewpulse``, from the root) with the retrain's arguments."""
    argv = [*command, "retrain", "--json", "--data-dir", str(settings.data_dir)]
    return argv + ([] if settings.auto_promote else ["--no-promote"])


async def spawn_retrain(settings: Settings, command: list[str]) -> int:
    """Run ``reviewpulse retrain`` to the end in a child process; its exit status."""
    with (Path(settings.data_dir) / LOG_FILE).open("ab") as output:
        process = await asyncio.create_subprocess_exec(*retrain_argv(settings, command), stdout=output,
                                                       stderr=output)
        return await process.wait()


class AutoRetrainer:
    """See the module docstring. ``spawn(settings)`` runs one retrain to its exit status (the root hands
    in :func:`spawn_retrain` with the ``reviewpulse`` argv; tests hand in their own)."""

    def __init__(self, settings: Settings, storage: Any, spawn: Callable[[Settings], Awaitable[int]]) -> None:
        self.settings = settings
        self.storage = storage
        self.spawn = spawn
        self.state_path = Path(settings.data_dir) / STATE_FILE
        self.since = self._load_since()
        self.running: asyncio.Task[int] | None = None

    def _load_since(self) -> datetime:
        try:
            return datetime.fromisoformat(json.loads(self.state_path.read_text(encoding="utf-8"))["last_started"])
        except (OSError, ValueError, KeyError, TypeError):
            return datetime.now(UTC)

    def _save(self, **values: Any) -> None:
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = {}
        state.update(values)
        self.state_path.write_text(json.dumps(state), encoding="utf-8")

    async def check(self) -> bool:
        """Start a retrain when enough new rows arrived and none is running; True when one started."""
        if self.running is not None and not self.running.done():
            return False
        new_rows = await self.storage.run(count_labelled, self.storage, self.since)
        if new_rows < self.settings.retrain_every_rows:
            return False
        self.since = datetime.now(UTC)
        self._save(last_started=self.since.isoformat(), new_rows=new_rows)
        log.info("automatic retrain: %d new labelled rows (RETRAIN_EVERY_ROWS=%d)", new_rows,
                 self.settings.retrain_every_rows)
        self.running = asyncio.create_task(self._retrain())
        return True

    async def _retrain(self) -> int:
        status = await self.spawn(self.settings)
        self._save(last_exit=status, finished=datetime.now(UTC).isoformat())
        if status:
            log.warning("automatic retrain exited with %d: see %s", status, Path(self.settings.data_dir) / LOG_FILE)
        return status

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.settings.retrain_check_interval_s)
            try:
                await self.check()
            except Exception:  # noqa: BLE001 - a failed count must not end the loop
                log.exception("automatic retrain check failed")
