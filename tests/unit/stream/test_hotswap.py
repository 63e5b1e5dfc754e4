"""ModelSlot: the next model loads in the background and takes over only between batches."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

from kernel.settings import Settings
from stream.registry.control import decode, encode
from stream.registry.hotswap import ModelSlot, _apply, scorer_loader
from tests.model_artefacts import artefact_copy, corrupt_weights


class FakeScorer:
    classes = ["bad", "average", "good"]

    def __init__(self, version: str) -> None:
        self.version = version

    def score(self, texts: list[str]) -> list[object]:
        return [SimpleNamespace()] * len(texts)


def gated_loader(gates: dict[str, threading.Event]) -> object:
    """Loads FakeScorer(path) once the test opens ``gates[path]`` (if there is one)."""
    def load(path: str) -> FakeScorer:
        if path in gates:
            assert gates[path].wait(10)
        if path.startswith("broken"):
            raise RuntimeError("cannot read weights")
        return FakeScorer(path)
    return load


def test_a_loaded_model_takes_over_at_the_next_current_call_only() -> None:
    gate = threading.Event()
    slot = ModelSlot(FakeScorer("v1"), gated_loader({"v2": gate}))
    slot.request("v2", "v2")
    assert slot.current().version == "v1"  # still loading: batches go on with v1
    gate.set()
    assert slot.settled.wait(10)
    assert slot.version == "v1"  # loaded, but only a batch boundary switches
    assert slot.current().version == "v2" and slot.version == "v2"


def test_two_requests_in_a_row_end_on_the_last() -> None:
    gates = {"v2": threading.Event(), "v3": threading.Event()}
    slot = ModelSlot(FakeScorer("v1"), gated_loader(gates))
    slot.request("v2", "v2")
    slot.request("v3", "v3")
    gates["v2"].set()
    gates["v3"].set()
    assert slot.settled.wait(10)
    assert slot.current().version == "v3"
    assert slot.current().version == "v3"


def test_a_request_back_to_the_current_model_cancels_one_still_loading() -> None:
    gate = threading.Event()
    slot = ModelSlot(FakeScorer("v1"), gated_loader({"v2": gate}))
    slot.request("v2", "v2")
    slot.request("v1", "v1")  # e.g. a rollback while v2 loads
    gate.set()
    assert slot.settled.wait(10)
    assert slot.current().version == "v1"


def test_a_broken_or_mismatched_artefact_is_refused_and_the_model_kept() -> None:
    slot = ModelSlot(FakeScorer("v1"), gated_loader({}))
    slot.request("v2", "broken-v2")
    assert slot.settled.wait(10)
    assert slot.current().version == "v1" and "cannot read weights" in slot.last_error
    slot.request("v3", "v4")  # the card says v4
    assert slot.settled.wait(10)
    assert slot.current().version == "v1" and "says version 'v4', not 'v3'" in slot.last_error


def test_a_corrupt_real_artefact_is_refused_with_the_artefact_error(tmp_path: Path, tiny_model_dir: Path) -> None:
    from inference.scorer import Scorer

    good = artefact_copy(tiny_model_dir, tmp_path / "good", "good-v2")
    bad = corrupt_weights(artefact_copy(tiny_model_dir, tmp_path / "bad", "bad-v3"))
    slot = ModelSlot(Scorer.load(tiny_model_dir, device="cpu", threads=1), scorer_loader(Settings(scorer_process=False)))
    slot.request("bad-v3", str(bad))
    assert slot.settled.wait(60)
    assert slot.current().version == "tiny-untrained"
    assert "bad-v3" in slot.last_error and "model.safetensors" in slot.last_error
    slot.request("good-v2", str(good))
    assert slot.settled.wait(60)
    assert slot.current().version == "good-v2" and slot.last_error == ""


def test_control_events_round_trip_and_only_the_last_activation_is_loaded() -> None:
    key, value = encode({"action": "activate", "version": "v2", "path": "/m/v2", "by": "me"})
    assert key == b"activate" and decode(value)["version"] == "v2"
    assert decode(b"not json") is None and decode(b'{"action": "explode"}') is None
    loads: list[str] = []
    slot = ModelSlot(FakeScorer("v1"), lambda path: loads.append(path) or FakeScorer(path))
    shadow = ModelSlot(None, lambda path: FakeScorer(path), "shadow")
    _apply([{"action": "activate", "version": "v2", "path": "v2"}, {"action": "register", "version": "v4",
            "path": "v4"}, {"action": "activate", "version": "v3", "path": "v3"}], slot, shadow)
    assert slot.settled.wait(10) and shadow.settled.wait(10)
    assert loads == ["v3"] and slot.current().version == "v3" and shadow.current().version == "v4"
    _apply([{"action": "activate", "version": "v4", "path": "v4"}], slot, shadow)
    assert shadow.current() is None  # the candidate became active: nothing left to shadow
