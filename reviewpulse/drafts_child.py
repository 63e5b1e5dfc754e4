"""``reviewpulse run``'s drafts process: start it, wait until it answers, start it again if it dies.

The child is ``python -m reviewpulse drafts-worker`` (``stream.worker.drafts``) with the
parent's environment plus its broker, data directory and the model the parent loaded. It
prints one line when its consumer group has assigned it partitions; from then on it logs
to stderr like the parent. It gets SIGTERM when the parent dies (``die_with_parent``), and
a clean stop finishes the drafts in hand. A child that exits on its own is started again,
after 1 s, doubling to 30 s while it keeps failing quickly; drafts published meanwhile
wait on the topic (its group's offsets are committed after each batch).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from kernel.children import die_with_parent
from kernel.settings import Settings

log = logging.getLogger(__name__)

#: What the child prints on stdout once it consumes.
READY_LINE = "drafts worker ready"
#: Seconds a stop waits for the child to finish its batch before killing it.
STOP_TIMEOUT_S = 10.0
FIRST_RETRY_S, LONGEST_RETRY_S = 1.0, 30.0
#: A child that ran this long before it exited is retried after FIRST_RETRY_S again.
HEALTHY_RUN_S = 60.0


class DraftsChild:
    """Supervises the drafts process on a thread; ``start()``, ``wait_ready()``, ``stop()``."""

    def __init__(self, settings: Settings, bootstrap: str, model_dir: str | Path) -> None:
        self.env = {**os.environ, "DATA_DIR": str(Path(settings.data_dir).resolve()),
                    "KAFKA_BOOTSTRAP": bootstrap, "MODEL_DIR": str(Path(model_dir).resolve())}
        self.process: subprocess.Popen[str] | None = None
        self.ready = threading.Event()
        self.starts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._supervise, name="drafts-child", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wait_ready(self, timeout_s: float) -> bool:
        """True once the first child consumes; False if it did not within ``timeout_s``."""
        return self.ready.wait(timeout_s)

    def stop(self) -> None:
        """Stop supervising and terminate the child (SIGTERM, SIGKILL after STOP_TIMEOUT_S). Idempotent."""
        self._stopping.set()
        with self._lock:
            process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=STOP_TIMEOUT_S)

    def _spawn(self) -> subprocess.Popen[str] | None:
        with self._lock:
            if self._stopping.is_set():
                return None
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv
                [sys.executable, "-m", "reviewpulse", "drafts-worker"], env=self.env, stdout=subprocess.PIPE,
                stdin=subprocess.DEVNULL, text=True, preexec_fn=die_with_parent(signal.SIGTERM),
            )
            self.starts += 1
            return self.process

    def _supervise(self) -> None:
        delay = FIRST_RETRY_S
        while (process := self._spawn()) is not None:
            started = time.monotonic()
            assert process.stdout is not None
            if process.stdout.readline().strip() == READY_LINE:
                log.info("drafts process %d consuming (start %d)", process.pid, self.starts)
                self.ready.set()
            process.stdout.close()
            code = process.wait()
            if self._stopping.is_set():
                return
            delay = FIRST_RETRY_S if time.monotonic() - started > HEALTHY_RUN_S else delay
            log.error("the drafts process exited with %s; starting it again in %.0f s", code, delay)
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, LONGEST_RETRY_S)
