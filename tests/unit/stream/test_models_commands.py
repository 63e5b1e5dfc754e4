"""``reviewpulse models promote``: the gate verdict, judged against the active model."""

from __future__ import annotations

from reviewpulse.commands.models import gate_refusal
from stream.registry.store import ModelRecord


def record(version: str, **metrics: object) -> ModelRecord:
    return ModelRecord(version=version, path="/m/" + version, metrics=dict(metrics))


def test_promote_needs_a_passed_gate_verdict_judged_against_the_active_model() -> None:
    active = record("base")
    assert gate_refusal(record("c1"), active) == ["no gate verdict recorded for c1 (reviewpulse retrain records one)"]
    refused = record("c2", gates={"passed": False, "reasons": ["in-domain hold-out: macro-F1 0.6 vs 0.7"]})
    assert gate_refusal(refused, active) == ["in-domain hold-out: macro-F1 0.6 vs 0.7"]
    passed = record("c3", gates={"passed": True, "reasons": []}, active={"version": "base"})
    assert gate_refusal(passed, active) == []
    assert "judged against base, but other is active now" in gate_refusal(passed, record("other"))[0]


