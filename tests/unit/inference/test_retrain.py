"""Retraining without training: which labelled rows are kept, and the gate's reasons."""

from __future__ import annotations

from inference.gates import GateRules, judge
from inference.retrain import LabelledRow, clean_rows


def test_clean_rows_counts_what_it_skips() -> None:
    rows = [LabelledRow("fine", 3, "a"), LabelledRow("bad", 1, "a"), LabelledRow("   ", 5, "a"),
            LabelledRow("x", 0, "a"), LabelledRow("y", 6, "a"), LabelledRow("z", True, "a"),  # type: ignore[arg-type]
            LabelledRow("only good", 5, "b"), LabelledRow("also good", 4, "b")]
    kept, skipped = clean_rows(rows)
    assert [r.text for r in kept] == ["fine", "bad"]
    assert skipped["by_reason"] == {"empty text": 1, "rating outside 1-5": 3, "source with only one class": 2}
    assert skipped["rows"] == 6 and skipped["single_class_sources"] == ["b"]


def test_judge_reasons() -> None:
    def figures(f1: float, per_source: dict[str, float], hold: float) -> dict:
        return {"fixed": {"n": 500, "macro_f1": f1, "per_source": {s: {"n": 100, "macro_f1": v}
                                                                  for s, v in per_source.items()}},
                "holdout": {"n": 200, "macro_f1": hold}}

    active = figures(0.70, {"yelp": 0.70, "apps": 0.60}, 0.55)
    assert judge(figures(0.70, {"yelp": 0.69, "apps": 0.62}, 0.60), active, GateRules()).passed
    verdict = judge(figures(0.695, {"yelp": 0.60, "apps": 0.62}, 0.60), active, GateRules())
    assert not verdict.passed
    assert verdict.reasons == ["fixed validation set, yelp: macro-F1 0.6000 vs active 0.7000 "
                               "(a domain may fall by at most 0.03)"]
    verdict = judge(figures(0.70, {"yelp": 0.70}, 0.55), active, GateRules())
    assert verdict.reasons == ["in-domain hold-out: macro-F1 0.5500 vs active 0.5500 (must rise by more than 0.0)"]
    assert "no fixed validation set" in judge({"holdout": {"n": 1, "macro_f1": 1}}, active, GateRules()).reasons[0]


