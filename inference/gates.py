"""Gates before promotion: a candidate must not be worse where it was good, and better where it learned.

Two measurements per model, both on rows no candidate trains on:

* the **fixed validation set** — a seeded per-source sample of the base corpus's
  validation rows, written once to ``fixed-validation.csv`` (under ``DATA_DIR/models``)
  and read back every time after, so every candidate of every generation is judged on
  the same rows. The candidate's macro-F1 may fall by at most ``overall_margin``
  overall and by at most ``domain_margin`` on any source with ``min_domain_rows`` rows.
* the **in-domain hold-out** — the rows ``reviewpulse retrain`` kept out of training.
  The candidate's macro-F1 must beat the active model's by more than ``min_gain``.

:func:`judge` returns every check with its figures, and the reasons when it refuses.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from inference.artefact import ModelCard
from inference.base_corpus import base_split, per_source_sample
from inference.data import read_labelled_csv
from inference.metrics import classification_report

if TYPE_CHECKING:
    from inference.scorer import Scorer

FIXED_SET_FILE = "fixed-validation.csv"
#: Stars written for each class in the fixed set's CSV (they group back to the same class).
CLASS_STARS = {"bad": 1, "average": 3, "good": 5}


@dataclass
class GateRules:
    overall_margin: float = 0.01
    domain_margin: float = 0.03
    min_gain: float = 0.0
    min_domain_rows: int = 50


@dataclass
class Verdict:
    passed: bool
    reasons: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class EvalSet:
    texts: list[str]
    labels: list[int]
    sources: list[str]
    note: str = ""


def fixed_validation_set(path: Path, card: ModelCard, corpus: str = "", per_source: int = 300,
                         seed: int = 0) -> EvalSet:
    """The fixed set at ``path``; built from the base corpus (and written there) on first use."""
    if not path.is_file():
        reviews, _, validation_rows, note = base_split(card, corpus)
        picked = per_source_sample(reviews, validation_rows, per_source, seed)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp")
        with partial.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "rating", "source"])
            for row in picked:
                writer.writerow([reviews.texts[row], CLASS_STARS[reviews.classes[reviews.labels[row]]],
                                 reviews.sources[row]])
        partial.replace(path)
    reviews = read_labelled_csv(path)
    return EvalSet(reviews.texts, reviews.labels, reviews.sources, f"{path} ({len(reviews)} rows)")


def measure(scorer: Scorer, rows: EvalSet) -> dict[str, Any]:
    """Macro-F1 and accuracy of ``scorer`` (an ``inference.scorer.Scorer``) overall and per source."""
    if not rows.texts:
        return {"n": 0, "macro_f1": 0.0, "accuracy": 0.0, "per_source": {}}
    predicted = scorer.probabilities(rows.texts).argmax(1)
    labels = np.asarray(rows.labels)
    sources = np.asarray(rows.sources)
    overall = classification_report(labels, predicted, scorer.classes)
    per_source = {}
    for source in sorted(set(rows.sources)):
        mine = sources == source
        report = classification_report(labels[mine], predicted[mine], scorer.classes)
        per_source[source] = {"n": report["n"], "macro_f1": report["macro_f1"], "accuracy": report["accuracy"]}
    return {"n": overall["n"], "macro_f1": overall["macro_f1"], "accuracy": overall["accuracy"],
            "f1": {name: row["f1"] for name, row in overall["per_class"].items()}, "per_source": per_source}


def judge(candidate: dict[str, Any], active: dict[str, Any], rules: GateRules) -> Verdict:
    """Compare ``{"fixed": measure, "holdout": measure}`` of the candidate with the active model's."""
    verdict = Verdict(passed=True)

    def check(name: str, ok: bool, candidate_f1: float, active_f1: float, rule: str) -> None:
        verdict.checks.append({"check": name, "passed": ok, "candidate": candidate_f1, "active": active_f1,
                               "rule": rule})
        if not ok:
            verdict.passed = False
            verdict.reasons.append(f"{name}: macro-F1 {candidate_f1:.4f} vs active {active_f1:.4f} ({rule})")

    fixed_c, fixed_a = candidate.get("fixed"), active.get("fixed")
    if not fixed_c or not fixed_a or not fixed_c.get("n"):
        verdict.passed = False
        verdict.reasons.append("no fixed validation set to compare on (set RETRAIN_CORPUS)")
    else:
        check("fixed validation set", fixed_c["macro_f1"] >= fixed_a["macro_f1"] - rules.overall_margin,
              fixed_c["macro_f1"], fixed_a["macro_f1"], f"may fall by at most {rules.overall_margin}")
        for source, mine in fixed_c["per_source"].items():
            theirs = fixed_a["per_source"].get(source)
            if theirs is None or mine["n"] < rules.min_domain_rows:
                continue
            check(f"fixed validation set, {source}", mine["macro_f1"] >= theirs["macro_f1"] - rules.domain_margin,
                  mine["macro_f1"], theirs["macro_f1"], f"a domain may fall by at most {rules.domain_margin}")
    hold_c, hold_a = candidate.get("holdout"), active.get("holdout")
    if not hold_c or not hold_a or not hold_c.get("n"):
        verdict.passed = False
        verdict.reasons.append("no in-domain hold-out rows to compare on")
    else:
        check("in-domain hold-out", hold_c["macro_f1"] > hold_a["macro_f1"] + rules.min_gain,
              hold_c["macro_f1"], hold_a["macro_f1"], f"must rise by more than {rules.min_gain}")
    return verdict
