"""Run a check for ever at a fixed period, as a background job of a long-running process.

For jobs whose one failure must not end the process (a snapshot, a banner check): a failure
is logged once as a warning, saying ``what`` the job does, and not again until the job has
succeeded in between, so an unreachable broker or database does not fill the log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any


async def every(interval_s: float, job: Callable[[], Awaitable[Any]], log: logging.Logger, what: str) -> None:
    """Await ``job()`` now and then every ``interval_s`` seconds until cancelled."""
    failing = False
    while True:
        try:
            await job()
            failing = False
        except Exception as error:  # noqa: BLE001 - one failed round must not end the process
            if not failing:
                log.warning("could not %s: %s", what, error)
            failing = True
        await asyncio.sleep(interval_s)
