"""The scorer in a child process: the same answers as in-process, bad input, a child that dies, hot swap."""

from __future__ import annotations

import gc
import os
import signal
import threading
import time

import numpy as np
import pytest

from inference.artefact import ArtefactError, save_untrained
from inference.process_scorer import ProcessScorer
from inference.scorer import Scorer
from kernel.memory import ALLOCATOR_TUNABLES
from kernel.settings import Settings
from stream.registry.hotswap import ModelSlot, scorer_loader

pytestmark = pytest.mark.timeout(180)

TEXTS = ["Loved it, will come back!", "", "cold food and rude staff " * 80, "ok\nI guess", "é😀",
         "Loved it, will come back!"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_untrained(tmp_path_factory.mktemp("model"), seed=3, name="t", version="t-1")


@pytest.fixture(scope="module")
def scorer(model_dir):
    scorer = ProcessScorer(model_dir)
    yield scorer
    scorer.close()


def test_answers_as_the_model_in_this_process(scorer, model_dir):
    local = Scorer.load(model_dir, device="cpu")
    assert (scorer.version, scorer.classes, scorer.precision) == (local.version, local.classes, local.precision)
    assert np.array_equal(scorer.probabilities(TEXTS), local.probabilities(TEXTS))
    assert scorer.score(TEXTS) == local.score(TEXTS)


def test_bad_input_is_a_type_error_and_an_empty_list_scores_nothing(scorer):
    with pytest.raises(TypeError, match="not a single str"):
        scorer.score("one text")
    with pytest.raises(TypeError, match=r"texts\[1\] is int"):
        scorer.score(["fine", 3])
    assert scorer.score([]) == []
    assert scorer.probabilities([]).shape == (0, len(scorer.classes))


def test_calls_from_several_threads_each_get_their_own_answers(scorer, model_dir):
    local = Scorer.load(model_dir, device="cpu")
    lists = [[f"review {n} number {i}" * (1 + i % 7) for i in range(200)] for n in range(4)]
    expected = [local.probabilities(texts) for texts in lists]
    got: dict[int, np.ndarray] = {}

    def call(n: int) -> None:
        got[n] = scorer.probabilities(lists[n])

    threads = [threading.Thread(target=call, args=(n,)) for n in range(len(lists))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for n, want in enumerate(expected):
        assert np.array_equal(got[n], want)


def test_an_urgent_call_is_answered_while_two_long_calls_hold_the_child(scorer, model_dir):
    """Drafts go ahead of reviews: both review calls are in the child, and the urgent one does not wait for either."""
    long = [f"{i} " + "the food was cold and the staff were rude " * 22 for i in range(1200)]
    finished: list[str] = []

    def review_call() -> None:
        scorer.probabilities(long)
        finished.append("review call")

    threads = [threading.Thread(target=review_call) for _ in range(2)]
    for thread in threads:
        thread.start()
    while len(scorer._child._waiting) < 2:  # both sent: they hold the child's two review threads
        time.sleep(0.001)
    urgent = scorer.urgent()
    verdicts = urgent.score(["lovely staff"])
    assert finished == [], "the urgent call waited for a review call"
    assert urgent.version == scorer.version and len(verdicts) == 1
    expected = Scorer.load(model_dir, device="cpu").probabilities(["lovely staff"])
    assert np.allclose(verdicts[0].probs, expected[0], atol=1e-6)
    for thread in threads:
        thread.join()
    assert finished == ["review call"] * 2


def test_the_child_gets_the_memory_settings_and_keeps_people_s_own(model_dir, monkeypatch):
    """kernel.memory's allocator settings reach the child; a GLIBC_TUNABLES someone set is left as it is.

    Read from /proc/PID/environ, which glibc splits in place where it parsed each tunable.
    """
    def child_environ(scorer: ProcessScorer) -> bytes:
        return open(f"/proc/{scorer._child.process.pid}/environ", "rb").read()

    ours = ProcessScorer(model_dir)
    try:
        assert all(tunable.encode() in child_environ(ours) for tunable in ALLOCATOR_TUNABLES.split(":"))
        assert b"ONEDNN_PRIMITIVE_CACHE_CAPACITY=64" in child_environ(ours)
    finally:
        ours.close()
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")
    theirs = ProcessScorer(model_dir)
    try:
        assert b"GLIBC_TUNABLES=glibc.malloc.arena_max=2" in child_environ(theirs)
        assert b"mmap_threshold" not in child_environ(theirs)
    finally:
        theirs.close()


def test_a_child_that_dies_is_replaced_at_the_next_call(scorer):
    before = scorer.probabilities(TEXTS)
    first = scorer._child.process
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    assert np.array_equal(scorer.probabilities(TEXTS), before)
    assert scorer._child.process.pid != first.pid


def test_a_dropped_scorer_stops_its_child(model_dir):
    scorer = ProcessScorer(model_dir)
    process = scorer._child.process
    del scorer
    gc.collect()
    assert process.wait(timeout=15) is not None


def test_an_artefact_that_cannot_load_raises_its_error_here(tmp_path):
    with pytest.raises(ArtefactError):
        ProcessScorer(tmp_path)


def test_a_promote_starts_the_new_model_in_a_new_child_and_stops_the_old_one(model_dir, tmp_path):
    settings = Settings(scorer_process=True)
    slot = ModelSlot(scorer_loader(settings)(str(model_dir)), scorer_loader(settings))
    old = slot.current()
    assert isinstance(old, ProcessScorer)
    old_process = old._child.process
    newer = save_untrained(tmp_path / "next", seed=4, name="t", version="t-2")
    slot.request("t-2", str(newer))
    assert slot.settled.wait(120)
    del old
    assert slot.current().version == "t-2"
    assert slot.current().score(["works"])[0].label in slot.current().classes
    gc.collect()
    assert old_process.wait(timeout=15) is not None
