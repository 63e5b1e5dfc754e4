"""Automatic retraining: after ``RETRAIN_EVERY_ROWS`` new rated reviews, a retrain, promoted only through the gates.

On by default on one machine: a site's own stars are the biggest gain a deployment gets
(docs/learning-loop.md: macro-F1 0.698 -> 0.741 from 1,000 of a new site's labels), and the
gates (``inference.training.gates``) refuse a candidate that is worse on the fixed validation
set, on any of its domains, or on the new rows' hold-out, and refuse every candidate when no
fixed set can be drawn (no base corpus): safe to run unattended. Unset, ``RETRAIN_EVERY_ROWS``
is :data:`SINGLE_MACHINE_EVERY_ROWS` under ``reviewpulse run`` and off under
``reviewpulse web``, whose replicas would each retrain: scaled out, set it on one replica.
``RETRAIN_EVERY_ROWS=0`` turns it off, ``AUTO_PROMOTE=false`` keeps candidates registered only.

The running system (the web app's lifespan) counts labelled rows stored since the last
automatic retrain every ``RETRAIN_CHECK_INTERVAL_S``. At the threshold it starts
``reviewpulse retrain --json`` as a separate process (training never runs on the event loop
or in the worker). One retrain at a time; its log goes to ``DATA_DIR/retrain.log``, its
report to ``DATA_DIR/retrain-report.json``, and ``DATA_DIR/retrain-state.json`` remembers
what the last one did (across restarts): :meth:`AutoRetrainer.status` is what the admin's
model page shows.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kernel.periodic import every
from kernel.settings import Settings
from stream.storage.labelled import count_labelled

log = logging.getLogger(__name__)
STATE_FILE = "retrain-state.json"
LOG_FILE = "retrain.log"
REPORT_FILE = "retrain-report.json"
#: New rated reviews that start a retrain under ``reviewpulse run`` when RETRAIN_EVERY_ROWS is unset:
#: 1,000 labels gained +0.153 and +0.055 macro-F1 on two unseen sites, and leave the gates a 200-row
#: hold-out (docs/learning-loop.md, "Automatic retraining").
SINGLE_MACHINE_EVERY_ROWS = 1000
OFF_HINT = "turn it off with RETRAIN_EVERY_ROWS=0, or keep candidates unpromoted with AUTO_PROMOTE=false"


def every_rows(settings: Settings, single_machine: bool) -> int:
    """New rated reviews per automatic retrain; 0 = off (see the module docstring)."""
    if settings.retrain_every_rows is not None:
        return settings.retrain_every_rows
    return SINGLE_MACHINE_EVERY_ROWS if single_machine else 0


def retrain_argv(settings: Settings, command: list[str]) -> list[str]:
    """``command`` (the argv that runs ``reviewpulse``, from the root) with the retrain's arguments."""
    argv = [*command, "retrain", "--json", "--data-dir", str(settings.data_dir)]
    return argv + ([] if settings.auto_promote else ["--no-promote"])


async def spawn_retrain(settings: Settings, command: list[str]) -> int:
    """Run ``reviewpulse retrain`` to the end in a child process (report to REPORT_FILE); its exit status."""
    data_dir = Path(settings.data_dir)
    with (data_dir / LOG_FILE).open("ab") as log_output, (data_dir / REPORT_FILE).open("wb") as report:
        process = await asyncio.create_subprocess_exec(*retrain_argv(settings, command), stdout=report,
                                                       stderr=log_output)
        return await process.wait()


def outcome(report: dict[str, Any]) -> dict[str, Any]:
    """What a retrain report says in a line: the version, promoted or not, and the gates' reasons."""
    gates = report.get("gates") or {}
    return {"version": report.get("version"), "promoted": bool(report.get("promoted")),
            "gates_passed": gates.get("passed"), "reasons": list(gates.get("reasons") or [])}


class AutoRetrainer:
    """See the module docstring. ``spawn(settings)`` runs one retrain to its exit status (the root hands
    in :func:`spawn_retrain` with the ``reviewpulse`` argv; tests hand in their own); ``every``
    is :func:`every_rows`."""

    def __init__(self, settings: Settings, storage: Any, spawn: Callable[[Settings], Awaitable[int]],
                 every: int) -> None:
        self.settings = settings
        self.storage = storage
        self.spawn = spawn
        self.every = every
        self.state_path = Path(settings.data_dir) / STATE_FILE
        self.since = self._load_since()
        self.new_rows = 0
        self.running: asyncio.Task[int] | None = None

    def _load_since(self) -> datetime:
        try:
            return datetime.fromisoformat(json.loads(self.state_path.read_text(encoding="utf-8"))["last_started"])
        except (OSError, ValueError, KeyError, TypeError):
            return datetime.now(UTC)

    def _state(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _save(self, **values: Any) -> None:
        self.state_path.write_text(json.dumps({**self._state(), **values}), encoding="utf-8")

    def status(self) -> dict[str, Any]:
        """For the admin's model page: the rule, rows counted toward the next retrain, what the last one did."""
        return {"every_rows": self.every, "auto_promote": self.settings.auto_promote, "new_rows": self.new_rows,
                "running": self.running is not None and not self.running.done(), "off_hint": OFF_HINT,
                "log": str(Path(self.settings.data_dir) / LOG_FILE), **self._state()}

    async def check(self) -> bool:
        """Start a retrain when enough new rows arrived and none is running; True when one started."""
        if self.running is not None and not self.running.done():
            return False
        self.new_rows = await self.storage.run(count_labelled, self.storage, self.since)
        if self.new_rows < self.every:
            return False
        self.since = datetime.now(UTC)
        self._save(last_started=self.since.isoformat(), new_rows=self.new_rows, last=None)
        log.info("automatic retrain: %d new rated reviews (RETRAIN_EVERY_ROWS=%d)", self.new_rows, self.every)
        self.new_rows = 0
        self.running = asyncio.create_task(self._retrain())
        return True

    async def _retrain(self) -> int:
        status = await self.spawn(self.settings)
        try:
            last = outcome(json.loads((Path(self.settings.data_dir) / REPORT_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError, AttributeError):
            last = None
        self._save(last_exit=status, finished=datetime.now(UTC).isoformat(), last=last)
        # warnings: `reviewpulse run` shows warnings only, and the model people are scored by may have changed
        if status or last is None:
            log.warning("automatic retrain exited with %d: see %s", status, Path(self.settings.data_dir) / LOG_FILE)
        elif last["promoted"]:
            log.warning("automatic retrain: %s passed the gates and is the active model (%s)", last["version"],
                        OFF_HINT)
        else:
            log.warning("automatic retrain: %s registered, not promoted: %s", last["version"],
                        "; ".join(last["reasons"]) or "AUTO_PROMOTE=false")
        return status

    async def run(self) -> None:
        log.info("automatic retraining on: a retrain after %d new rated reviews, %s (%s)", self.every,
                 "promoted only through the gates" if self.settings.auto_promote else "candidates registered only",
                 OFF_HINT)
        interval = self.settings.retrain_check_interval_s
        await asyncio.sleep(interval)  # the first count after one interval: a start is not a reason to retrain
        await every(interval, self.check, log, "count new rated reviews for automatic retraining")
