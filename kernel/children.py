"""Child processes that must not outlive the process that started them.

``reviewpulse run`` starts the broker, the drafts process and the scoring process. A
``kill -9`` of ``run`` leaves no chance to stop them, and children in sessions of their
own (so that a Ctrl-C is the parent's to handle) are not in its process group either:
they lived on for minutes, holding the broker's port and the model's memory. Linux sends
a child a chosen signal when its parent dies (``PR_SET_PDEATHSIG``); every such child is
started with :func:`die_with_parent` as its ``preexec_fn``; a Python child that may be
started from a short-lived thread (the signal fires when that *thread* ends) watches its
parent itself instead (:func:`exit_with_parent`).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def die_with_parent(sig: int = signal.SIGKILL) -> Callable[[], None]:
    """A ``preexec_fn`` that has the child get ``sig`` when the thread that started it ends (Linux only).

    SIGKILL by default: a child whose parent is gone has nobody to report to, and a
    graceful stop (the broker's in-memory log, the scorer's queue) has nothing to save.
    Start such children from a thread that lives as long as the process (the main thread).
    """
    def arrange() -> None:
        if sys.platform.startswith("linux"):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, sig)
    return arrange


def exit_with_parent(poll_s: float = 0.5) -> None:
    """In a child: end this process within ``poll_s`` of its parent's death (it is then re-parented)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
