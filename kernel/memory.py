"""Give memory back to the system: glibc's allocator settings for the scoring process, and a trim.

Why: glibc keeps what a process freed for reuse. After a bulk import the scoring
process held ~1 GiB of freed activations (per-thread arenas, and a mmap threshold that
grows to 32 MiB once big blocks are freed, so later activations come from those arenas)
while its model and torch needed ~370 MiB (docs/benchmarks.md, "Memory at rest").

- ``ALLOCATOR_TUNABLES`` (``SCORER_MEMORY=lean``, the default; set in the scoring
  process's environment, where glibc reads it at start): blocks of 4 MiB and more are
  mapped on their own and unmapped when freed (a fixed threshold, which also stops it
  growing), and glibc asks for transparent huge pages for them, so mapping them afresh
  costs less (without huge pages the pipeline ran at 0.7x). The scoring process's peak
  during a 20,000-review import falls from ~1,030 to ~470 MiB; the pipeline runs at ~0.87x.
- ``KERNEL_CACHE_SHAPES``: oneDNN builds int8 kernels per pass shape and keeps 1,024 of
  them by default; the scoring process keeps 64 (the passes' shapes are rounded to a few
  hundred: ``inference.slices.padded_rows``).
- :func:`release_free_memory` (``malloc_trim``) returns the free pages inside the arenas;
  the scoring process calls it once it has been idle for a moment, ``reviewpulse run``
  once its worker has scored nothing for a while (:class:`QuietTrim`).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

log = logging.getLogger(__name__)


#: glibc tunables of the scoring process: mmap blocks >= 4 MiB (fixed), huge pages for them where the kernel allows.
ALLOCATOR_TUNABLES = "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=4194304"
#: Kernels oneDNN keeps, one per pass shape (default 1,024): 64 kept ~30 MiB less after scoring 8,000 reviews.
KERNEL_CACHE_SHAPES = 64


def scoring_environment(lean: bool = True, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``environ`` (default: this process's) with the scoring process's memory settings, where not set already.

    ``lean`` (``SCORER_MEMORY=lean``) adds ``ALLOCATOR_TUNABLES``; fast keeps glibc's defaults.
    """
    env = dict(os.environ if environ is None else environ)
    if lean:
        env.setdefault("GLIBC_TUNABLES", ALLOCATOR_TUNABLES)
    env.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(KERNEL_CACHE_SHAPES))
    return env


@cache
def _malloc_trim() -> Any:
    try:
        return ctypes.CDLL(None).malloc_trim  # the C library this process runs on
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


def release_free_memory() -> bool:
    """Hand the free pages of every malloc arena back to the system; False where the C library cannot."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


class QuietTrim:
    """Calls :func:`release_free_memory` once work stops: after a burst, not during it (no page faults mid-import).

    ``activity()`` counts work done (reviews scored); each :meth:`check` (a periodic job)
    trims when the count has not moved since the previous check but has since the last trim.
    """

    def __init__(self, activity: Callable[[], int]) -> None:
        self.activity = activity
        self.last = self.trimmed_at = activity()

    async def check(self) -> None:
        now = self.activity()
        if now == self.last and now != self.trimmed_at:
            if await asyncio.to_thread(release_free_memory):
                log.debug("handed freed memory back after %d units of work", now - self.trimmed_at)
            self.trimmed_at = now
        self.last = now
