"""Scoring lanes (``inference.lanes``): passes side by side on single-threaded threads, same answers."""

import threading

import numpy as np
import pytest
import torch

from inference.artefact import load_artefact, save_untrained
from inference.lanes import Lanes, shared_lanes
from inference.scorer import Scorer
from tests.unit.inference.test_scorer_batching import mixed_texts


@pytest.fixture(scope="module")
def artefact(tmp_path_factory):
    directory = save_untrained(tmp_path_factory.mktemp("model"), seed=3, output_std=0.5, name="l", version="l-1")
    return load_artefact(directory, "cpu")


def threads_of_passes(scorer: Scorer, monkeypatch) -> list[str]:
    """The name of the thread each forward pass ran on."""
    names: list[str] = []
    forward = scorer.model.forward

    def spy(*args):
        names.append(threading.current_thread().name)
        return forward(*args)

    monkeypatch.setattr(scorer.model, "forward", spy)
    return names


def test_passes_on_lanes_give_what_passes_one_after_another_give(artefact, monkeypatch):
    """To float rounding: one thread sums in another order than two."""
    model, card, alphabet = artefact
    texts = mixed_texts(200, seed=4)
    alone = Scorer(model, card, alphabet, lanes=1)
    on_lanes = Scorer(model, card, alphabet, lanes=2)
    monkeypatch.setattr(alone, "max_cells", 3000)
    monkeypatch.setattr(on_lanes, "max_cells", 3000)
    names = threads_of_passes(on_lanes, monkeypatch)  # the two scorers share the model
    laned = on_lanes.probabilities(texts)
    assert len(names) > 3 and all(name.startswith("scorer-lane") for name in names)
    names.clear()
    assert np.abs(laned - alone.probabilities(texts)).max() <= 1e-5
    assert set(names) == {threading.current_thread().name}


def test_a_single_pass_runs_in_the_callers_thread(artefact, monkeypatch):
    """A draft never queues behind the reviews' passes on the lanes."""
    model, card, alphabet = artefact
    scorer = Scorer(model, card, alphabet, lanes=2)
    names = threads_of_passes(scorer, monkeypatch)
    scorer.score(["one short draft"])
    assert names == [threading.current_thread().name]


def test_each_lane_runs_torch_on_one_thread_and_its_creator_keeps_its_own_count():
    before = torch.get_num_threads()
    lanes = Lanes(2)
    assert lanes.map(lambda _: torch.get_num_threads(), range(4)) == [1, 1, 1, 1]
    assert torch.get_num_threads() == before
    assert len({name for name in lanes.map(lambda _: threading.current_thread().name, range(2))}) <= 2


def test_lanes_run_below_normal_priority_so_the_event_loop_and_drafts_come_first():
    import os

    from inference.lanes import LANE_NICENESS

    def niceness(_: int) -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    mine = niceness(0)
    assert Lanes(2).map(niceness, range(2)) == [max(LANE_NICENESS, mine)] * 2
    assert niceness(0) == mine  # the caller's own priority is untouched


def test_an_error_on_a_lane_reaches_the_caller():
    def fail(item: int) -> int:
        raise ValueError(f"item {item}")

    with pytest.raises(ValueError, match="item 0"):
        shared_lanes(2).map(fail, [0, 1])


def test_fewer_than_two_lanes_is_refused():
    with pytest.raises(ValueError, match="at least 2"):
        Lanes(1)
