"""A scorer whose model runs in a child process: the worker's Python off the model's GIL.

Why: in the worker, the event loop (Faust, the consumer, publishing), parsing and the
ClickHouse insert hold the interpreter lock about a third of the time, and the scorer's
lanes need it between torch operators and for encoding; so the lanes waited, and a core
sat idle (measured: lanes on a core 57% of the time in the worker, 88% alone). A child
process has its own interpreter lock. The parent sends the texts (pickled over a socket
pair) and gets the probabilities back; the verdicts are built here, as
``inference.scorer.Scorer.score`` builds them.

Calls may come from several threads at once (two reviews batches, drafts, shadow scores):
the child runs up to ``CONCURRENT_CALLS`` of them side by side on its lanes, and urgent
ones beside those. If the child dies, the calls in flight fail with
:class:`ScoringProcessError`, and the next call starts a new child (a call that failed
that way is tried once more on it). The child exits when
the parent closes the socket (``close``, or the scorer is dropped after a hot swap) or
dies, so none outlives its worker; it runs in a session of its own, so a Ctrl-C reaches
only the parent, which finishes its batch in hand before it lets the child go.

It is the one process that holds torch and the model under ``reviewpulse run``, for
both lanes: a call marked urgent (:meth:`ProcessScorer.urgent`: drafts, a person typing)
runs at once on a thread of its own, one torch thread at normal priority, while the
reviews' calls share the lanes at nice 5 (``inference.lanes``); so a draft never queues
behind an import. The child starts with ``kernel.memory``'s allocator settings
(``SCORER_MEMORY``) and hands freed memory back (``malloc_trim``) once it has been idle
for ``IDLE_TRIM_S``, so a bulk import's activations do not stay resident.

Run as ``python -m inference.process_scorer FD DIRECTORY THREADS`` by :class:`ProcessScorer`.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import socket
import subprocess
import sys
import threading
import weakref
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from inference.verdicts import Sentiment, verdicts
from kernel.children import exit_with_parent
from kernel.memory import release_free_memory, scoring_environment

log = logging.getLogger(__name__)

#: Calls the child scores at once: two reviews batches keep its lanes busy (stream.worker.batches.REVIEW_SCORINGS).
CONCURRENT_CALLS = 2
#: Seconds the child may take to load the model and answer that it is ready.
START_TIMEOUT_S = 120.0
#: Seconds without a call after which the child hands its freed memory back to the system.
IDLE_TRIM_S = 2.0
#: Torch threads of an urgent call: one short pass, while the lanes hold the cores.
URGENT_THREADS = 1


class ScoringProcessError(RuntimeError):
    """The scoring process died or could not start."""


class ProcessScorer:
    """The ``inference.protocol.Scorer`` of a model loaded in a child process (CPU)."""

    def __init__(self, directory: str | Path, threads: int = 0, lean_memory: bool = True) -> None:
        """``lean_memory``: the child's allocator maps big blocks on their own (``kernel.memory``, SCORER_MEMORY)."""
        self.directory = str(directory)
        self.threads = threads
        self.lean_memory = lean_memory
        self._lock = threading.Lock()
        self._child: _Child | None = None
        child = self._start()
        self.version: str = child.version
        self.classes: list[str] = child.classes
        self.precision: str = child.precision

    def score(self, texts: Sequence[str], passes: int | None = None) -> list[Sentiment]:
        """Sentiment for each text, in order (as ``inference.scorer.Scorer.score``); ``passes`` is ignored."""
        return verdicts(self.probabilities(texts), self.classes)

    def urgent(self) -> UrgentCalls:
        """This scorer, its calls run ahead of the others' in the child (``inference.protocol.ahead_of_others``)."""
        return UrgentCalls(self)

    def probabilities(self, texts: Sequence[str], urgent: bool = False) -> np.ndarray:
        """``(len(texts), classes)`` probabilities from the child; a child that died is replaced once."""
        if isinstance(texts, (str, bytes)):
            raise TypeError("score() takes a list of texts, not a single str")
        texts = list(texts)
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"texts[{index}] is {type(text).__name__}, expected str")
        try:
            return self._running().call(texts, urgent)
        except ScoringProcessError as error:
            log.error("%s; starting a new scoring process", error)
            return self._running().call(texts, urgent)

    def close(self) -> None:
        """Stop the child (idempotent); a later call starts a new one."""
        with self._lock:
            child, self._child = self._child, None
        if child is not None:
            child.close()

    def _running(self) -> _Child:
        with self._lock:
            child = self._child
        if child is not None and child.alive:
            return child
        if child is not None:
            log.error("the scoring process exited (code %s); starting a new scoring process", child.process.poll())
        return self._start()

    def _start(self) -> _Child:
        with self._lock:
            if self._child is not None and self._child.alive:
                return self._child
            if self._child is not None:
                self._child.close()
            self._child = _Child(self.directory, self.threads, self.lean_memory)
            weakref.finalize(self, self._child.close)
            return self._child


class UrgentCalls:
    """A :class:`ProcessScorer` whose calls the child runs at once, on a thread of their own (drafts)."""

    def __init__(self, scorer: ProcessScorer) -> None:
        self.scorer = scorer

    @property
    def version(self) -> str:
        return self.scorer.version

    @property
    def classes(self) -> list[str]:
        return self.scorer.classes

    def score(self, texts: Sequence[str], passes: int | None = None) -> list[Sentiment]:
        return verdicts(self.scorer.probabilities(texts, urgent=True), self.classes)


class _Child:
    """One scoring process and the thread that reads its answers."""

    def __init__(self, directory: str, threads: int, lean_memory: bool) -> None:
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "inference.process_scorer", str(theirs.fileno()), directory, str(threads)],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, env=scoring_environment(lean_memory),
            start_new_session=True,  # a Ctrl-C is the parent's to handle: the child ends when its socket does
        )
        theirs.close()
        self.connection = Connection(ours.detach())
        self._ids = itertools.count()
        self._waiting: dict[int, Future[np.ndarray]] = {}
        self._send_lock = threading.Lock()
        self.alive = True
        if not self.connection.poll(START_TIMEOUT_S):
            self.close()
            raise ScoringProcessError(f"the scoring process did not start within {START_TIMEOUT_S:.0f} s")
        try:
            hello = self.connection.recv()
        except EOFError:
            self.close()
            raise ScoringProcessError(f"the scoring process exited at start (code {self.process.wait()})") from None
        if isinstance(hello, BaseException):
            self.close()
            raise hello
        self.version, self.classes, self.precision = hello
        self._reader = threading.Thread(target=self._read, name="scoring-process-reader", daemon=True)
        self._reader.start()

    def call(self, texts: list[str], urgent: bool) -> np.ndarray:
        future: Future[np.ndarray] = Future()
        call_id = next(self._ids)
        self._waiting[call_id] = future
        try:
            with self._send_lock:
                self.connection.send((call_id, texts, urgent))
        except OSError as error:
            self._waiting.pop(call_id, None)
            self._died(f"the scoring process is gone ({error})")
        if not self.alive:
            self._waiting.pop(call_id, None)
            if not future.done():
                raise ScoringProcessError("the scoring process exited")
        return future.result()

    def _read(self) -> None:
        while True:
            try:
                call_id, result = self.connection.recv()
            except (EOFError, OSError):
                self._died(f"the scoring process exited (code {self.process.poll()})")
                return
            future = self._waiting.pop(call_id, None)
            if future is None:
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

    def _died(self, why: str) -> None:
        self.alive = False
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_exception(ScoringProcessError(why))

    def close(self) -> None:
        """Shut the socket (which wakes the reader and gives the child its end of input), then wait for the child."""
        self.alive = False
        with contextlib.suppress(OSError):
            end = socket.fromfd(self.connection.fileno(), socket.AF_UNIX, socket.SOCK_STREAM)
            end.shutdown(socket.SHUT_RDWR)
            end.close()
        self.connection.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve(connection: Connection, directory: str, threads: int) -> None:
    """The child: load the model, say so, then answer calls until the parent closes the socket or dies.

    A parent killed outright (``kill -9`` of ``reviewpulse run``) leaves calls queued here
    that nobody will read: the child then ends at once instead of scoring them first.
    """
    from inference.scorer import Scorer

    exit_with_parent()
    try:
        scorer = Scorer.load(directory, device="cpu", threads=threads)
    except Exception as error:  # noqa: BLE001 - handed to the parent, raised there
        connection.send(error)
        return
    scorer.model.drop_fc1_weight()
    connection.send((scorer.version, list(scorer.classes), scorer.precision))
    send_lock = threading.Lock()
    in_flight = _Counter()

    def answer(call_id: int, texts: list[str]) -> None:
        try:
            result: Any = scorer.probabilities(texts)
        except Exception as error:  # noqa: BLE001 - handed to the caller, raised there
            result = error
        with send_lock:
            connection.send((call_id, result))
        in_flight.add(-1)

    calls = ThreadPoolExecutor(CONCURRENT_CALLS, thread_name_prefix="scoring-call")
    urgent_calls = _urgent_thread()
    trimmed = True
    try:
        while True:
            if not connection.poll(IDLE_TRIM_S):
                if not trimmed and not in_flight.value:
                    release_free_memory()
                    trimmed = True
                continue
            try:
                call_id, texts, urgent = connection.recv()
            except (EOFError, OSError):  # the parent closed the socket: what is queued has no reader
                return
            in_flight.add(1)
            trimmed = False
            (urgent_calls if urgent else calls).submit(answer, call_id, texts)
    finally:
        for pool in (calls, urgent_calls):
            pool.shutdown(wait=False, cancel_futures=True)


class _Counter:
    """Calls being scored now: the idle trim waits for none."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def add(self, delta: int) -> None:
        with self._lock:
            self.value += delta


def _urgent_thread() -> ThreadPoolExecutor:
    """The urgent calls' thread, started now on URGENT_THREADS torch threads (as ``inference.lanes`` starts a lane)."""
    import torch

    def one_torch_thread() -> None:
        torch.set_num_threads(URGENT_THREADS)
        torch.get_num_threads()  # torch fixes a thread's count on its first use: while it is URGENT_THREADS

    restore = torch.get_num_threads()
    pool = ThreadPoolExecutor(1, thread_name_prefix="urgent-call", initializer=one_torch_thread)
    pool.submit(lambda: None).result()
    torch.set_num_threads(restore)
    return pool


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])), sys.argv[2], int(sys.argv[3]))
