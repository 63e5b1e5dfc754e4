"""Hot swap: a worker switches models between micro-batches, loading the next one in the background.

:class:`ModelSlot` holds the scorer a worker scores with. ``request(version, path)`` starts
loading another artefact on a background thread (the event loop and the batch in hand go
on with the current model); the batch handler calls ``current()`` once at the start of
every batch, and that is the only place the new model takes over. So each batch is
scored by one model, none is scored twice, none is dropped, and nothing restarts.

A newer request supersedes one still loading (two promotes in a row end on the last);
an artefact that cannot be loaded (``inference.artefact.ArtefactError``: missing files,
wrong shapes, a card whose version is not the one promoted, an unsupported class count)
is refused with the reason in the log and in ``last_error``, and the worker keeps its model.

:func:`follow_control` is the worker task that reads ``models.control`` without a consumer
group (every worker sees every event) and feeds the slots; it positions itself at the end
of the topic and THEN asks the registry for the active model, so a promote made while the
worker starts is never missed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

from inference.lanes import lower_thread_priority
from inference.loading import load_cpu_scorer
from inference.protocol import Scorer
from kernel.settings import Settings

log = logging.getLogger(__name__)

Loader = Callable[[str], Scorer]
#: Class counts the ``reviews`` table can store ([bad, good] or [bad, average, good]).
STORABLE_CLASSES = (2, 3)
#: Nice value of the loader thread: it runs when the scorer leaves a core idle.
LOADER_NICENESS = 19


class ModelSlot:
    """The scorer in use plus at most one being loaded; thread-safe. See the module docstring."""

    def __init__(self, scorer: Scorer | None, load: Loader, name: str = "model") -> None:
        self.name = name
        self._scorer = scorer
        self._load = load
        self._lock = threading.Lock()
        self._generation = 0
        self._wanted: tuple[int, str, str] | None = None
        self._ready: tuple[int, Scorer | None] | None = None
        self._loading = False
        #: Why the last requested artefact was refused ("" when it loaded).
        self.last_error = ""
        #: Set whenever a load ends (loaded, refused or superseded): lets tests and callers wait.
        self.settled = threading.Event()
        self.settled.set()

    @property
    def version(self) -> str:
        scorer = self._scorer
        return str(scorer.version) if scorer is not None else ""

    def current(self) -> Scorer | None:
        """The scorer for the next batch: a model loaded meanwhile takes over here, and only here."""
        with self._lock:
            if self._ready is not None and self._ready[0] == self._generation:
                previous, self._scorer = self.version, self._ready[1]
                log.info("%s switched from %s to %s", self.name, previous or "none", self.version)
            self._ready = None
            return self._scorer

    def request(self, version: str, path: str) -> None:
        """Load ``path`` (which must hold ``version``) in the background; a newer request wins."""
        with self._lock:
            self._generation += 1
            self._ready = None
            if version == self.version and self._wanted is None:
                return
            self._wanted = (self._generation, version, path)
            self.settled.clear()
            if self._loading:
                return
            self._loading = True
        threading.Thread(target=self._load_until_settled, name=f"load-{self.name}", daemon=True).start()

    def clear(self) -> None:
        """Score with nothing (shadow slot only): the next ``current()`` returns None."""
        with self._lock:
            self._generation += 1
            self._wanted = None
            self._ready = (self._generation, None)

    def _load_until_settled(self) -> None:
        lower_thread_priority(LOADER_NICENESS)  # loading is seconds of torch work: it yields to scoring
        while True:
            with self._lock:
                wanted, self._wanted = self._wanted, None
                if wanted is None:
                    self._loading = False
                    self.settled.set()
                    return
            generation, version, path = wanted
            try:
                scorer = self._checked(self._load(path), version, path)
            except Exception as error:  # noqa: BLE001 - any failure: refuse it, keep the model in use
                self.last_error = f"{version} ({path}) refused: {error}"
                log.error("%s: %s; still scoring with %s", self.name, self.last_error, self.version or "none")
                continue
            with self._lock:
                if generation == self._generation:
                    self._ready = (generation, scorer)
                    self.last_error = ""
            log.info("%s %s loaded from %s; it takes over at the next batch", self.name, version, path)

    @staticmethod
    def _checked(scorer: Scorer, version: str, path: str) -> Scorer:
        from inference.artefact import ArtefactError

        if scorer.version != version:
            raise ArtefactError(f"{path}/model.json says version {scorer.version!r}, not {version!r}")
        if len(scorer.classes) not in STORABLE_CLASSES:
            raise ArtefactError(f"{path}: {len(scorer.classes)} classes; the reviews table stores 2 or 3")
        scorer.score(["warm up the new model before it takes over"])
        return scorer


def scorer_loader(settings: Settings) -> Loader:
    return lambda path: load_cpu_scorer(path, settings)


async def follow_control(settings: Settings, bootstrap: str, storage: Any, active: ModelSlot,
                         shadow: ModelSlot | None) -> None:
    """Worker task: apply every ``models.control`` event to the slots until cancelled.

    ``storage`` None (the drafts process, which has no database): the registry is not
    read at start; the process starts with the model its parent found active.
    """
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from stream.registry.control import decode

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest", fetch_max_wait_ms=200)
    await consumer.start()
    try:
        partitions = [TopicPartition(settings.topic_control, n)
                      for n in sorted(consumer.partitions_for_topic(settings.topic_control) or {0})]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for partition in partitions:
            await consumer.position(partition)
        if storage is not None:
            await _apply_registry(settings, storage, active, shadow)
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            events = [e for records in batches.values() for r in records if (e := decode(r.value))]
            _apply(events, active, shadow)
    finally:
        await asyncio.gather(consumer.stop(), return_exceptions=True)


def _apply(events: list[dict[str, Any]], active: ModelSlot, shadow: ModelSlot | None) -> None:
    """Only the last activation (and the last candidate) of a batch of events is loaded."""
    activations = [e for e in events if e["action"] == "activate"]
    candidates = [e for e in events if e["action"] == "register"]
    if activations:
        last = activations[-1]
        active.request(str(last["version"]), str(last["path"]))
        if shadow is not None and shadow.version == last["version"]:
            shadow.clear()
    if shadow is not None and candidates:
        shadow.request(str(candidates[-1]["version"]), str(candidates[-1]["path"]))


async def _apply_registry(settings: Settings, storage: Any, active: ModelSlot, shadow: ModelSlot | None) -> None:
    """The registry's active model (and newest candidate, for shadow scoring), read on the storage thread."""
    from stream.registry.store import Registry

    registry = Registry(storage, settings)
    try:
        record = await storage.run(registry.active)
        candidates = await storage.run(registry.candidates) if shadow else []  # reads only: the worker's user
    except Exception as error:  # noqa: BLE001 - keep the model loaded at start; events still apply
        log.error("cannot read the model registry (%s); scoring with %s", error, active.version)
        return
    active.request(record.version, record.path)
    if shadow is not None and candidates:
        shadow.request(candidates[0].version, candidates[0].path)
