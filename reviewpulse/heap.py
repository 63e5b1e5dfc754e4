"""Keep the cyclic garbage collector's full passes off what start-up built.

With torch, Faust, pydantic and the apps loaded, a process tracks ~230,000 objects, and
a full collection scans them all: 130-165 ms in a quiet process here, 100-290 ms in
``reviewpulse run`` during a bulk import, where it came 14 times in 30 s. Whichever
thread triggers it holds the GIL meanwhile, so the event loop serving people typing
stops for that long (docs/benchmarks.md). ``gc.freeze()`` moves every object alive now
to a permanent generation that collections never scan; those objects are still freed by
reference counting, and whatever is made later is collected as before. Only a frozen
object caught in a reference cycle is never freed: at worst the start-up model after a
promote replaces it, once, however many promotes follow.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def freeze_startup_objects() -> None:
    """Collect once, then freeze what is left (``gc.get_freeze_count()`` says how many). Call when start-up is done."""
    gc.collect()
    gc.freeze()
    log.debug("froze %d start-up objects out of the collector's passes", gc.get_freeze_count())
