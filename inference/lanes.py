"""Scoring lanes: CPU threads that each run torch on one core, so passes run side by side.

Why: on a small CPU, one forward pass spread over every core (torch's intra-op
threads) waits at a barrier after each operator for its slowest thread, and any other
work on the machine (the worker's event loop, ClickHouse, the broker) makes one thread
late. Independent passes on single-threaded lanes have no barrier. Measured on the
2-core box (3,000 reviews, takes of 512 in slices of 64): one pass at a time on 2
threads 454-523 reviews/s, two lanes of 1 thread 660-756 (docs/benchmarks.md).

torch keeps its thread count per OS thread once a thread has used it (OpenMP), so each
lane sets 1 for itself at start, and the count of the thread that built the lanes is
put back afterwards. Lanes are shared by every scorer with the same count.

Lanes run a little below normal priority (``LANE_NICENESS``): they take every core the
rest of the process leaves, and the rest (the event loop that feeds them, the consumer
thread, the drafts' scoring) gets a core the moment it needs one. Light to import (torch
is imported when lanes are built), so ``stream.registry.hotswap`` shares ``lower_thread_priority``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")
#: Seconds the lanes may take to start (a guard against a hung start, never reached when it works).
START_TIMEOUT_S = 30.0
#: Nice value of each lane: below the event loop and the drafts' thread, above a model being loaded (19).
LANE_NICENESS = 5


def lower_thread_priority(niceness: int) -> None:
    """Give the calling thread (and the threads it starts) nice value ``niceness``, if that lowers it.

    Linux gives each thread its own nice value, inherited by the threads it creates;
    elsewhere, or where it is not allowed, the thread keeps its priority.
    """
    try:
        tid = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, tid) < niceness:
            os.setpriority(os.PRIO_PROCESS, tid, niceness)
    except (AttributeError, OSError) as error:
        log.debug("thread keeps its priority (%s)", error)


class Lanes:
    """``count`` threads, each running torch with one intra-op thread."""

    def __init__(self, count: int) -> None:
        if count < 2:
            raise ValueError(f"lanes need at least 2 threads, not {count}")
        import torch

        self.count = count
        restore = torch.get_num_threads()
        started = threading.Barrier(count + 1, timeout=START_TIMEOUT_S)

        def single_threaded() -> None:
            lower_thread_priority(LANE_NICENESS)
            torch.set_num_threads(1)
            torch.get_num_threads()  # torch fixes a thread's count on its first use: while it is 1
            started.wait()

        self.pool = ThreadPoolExecutor(count, thread_name_prefix="scorer-lane", initializer=single_threaded)
        for _ in range(count):  # each initializer waits at the barrier, so every submit starts a thread
            self.pool.submit(lambda: None)
        started.wait()
        torch.set_num_threads(restore)

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """``fn`` over ``items`` on the lanes, results in order; the first error is raised."""
        return list(self.pool.map(fn, items))


@cache
def shared_lanes(count: int) -> Lanes:
    """The process's lanes of ``count`` threads (created on first use, kept for the process's life)."""
    return Lanes(count)
