"""Gates before promotion: a candidate must not be worse where it was good, and better where it learned.

Two measurements per model, both on rows no candidate trains on:

* the **fixed validation set** — a seeded per-source sample of the base corpus's
  validation rows, written once to ``fixed-validation.csv`` (under ``DATA_DIR/models``)
  and read back every time after, so every candidate of every generation is judged on
  the same rows. The candidate's macro-F1 may fall by at most ``overall_margin``
  overall and by at most ``domain_margin`` on any source with ``min_domain_rows`` rows;
  a domain's fall counts when a paired bootstrap over its rows (:func:`chance_worse`)
  is at least ``domain_confidence`` sure the candidate is worse there at all. A source
  has a few hundred rows in the set, where macro-F1 moves by ±0.03 by chance alone, so
  without that test a margin of 0.03 refused candidates for noise.
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
from inference.training.base_corpus import base_split, per_source_sample
from inference.training.data import read_labelled_csv
from inference.training.metrics import classification_report

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
    #: How sure the paired bootstrap must be that a domain really fell (0: every fall past the margin counts).
    domain_confidence: float = 0.95


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


#: Resamples of the paired bootstrap (seeded: the same models on the same rows give the same verdict).
RESAMPLES = 2000


def predict(scorer: Scorer, rows: EvalSet) -> np.ndarray:
    """The class ``scorer`` (an ``inference.scorer.Scorer``) picks for each row."""
    return scorer.probabilities(rows.texts).argmax(1) if rows.texts else np.zeros(0, dtype=np.int64)


def measure(scorer: Scorer, rows: EvalSet) -> dict[str, Any]:
    """Macro-F1 and accuracy of ``scorer`` (an ``inference.scorer.Scorer``) overall and per source."""
    return measure_predictions(predict(scorer, rows), rows, scorer.classes)


def chance_worse(candidate: np.ndarray, active: np.ndarray, rows: EvalSet, classes: int,
                 resamples: int = RESAMPLES, seed: int = 0) -> dict[str, float]:
    """Per source: the share of paired bootstrap resamples of its rows where the candidate's macro-F1 is lower.

    Both models' predictions are resampled together (the same rows each time), so what
    the two get right or wrong alike cancels out: 0.5 means "no evidence either way",
    0.99 "worse on almost any sample of such reviews".
    """
    labels, sources = np.asarray(rows.labels), np.asarray(rows.sources)
    rng = np.random.default_rng(seed)
    result = {}
    for source in sorted(set(rows.sources)):
        mine = np.flatnonzero(sources == source)
        weights = rng.multinomial(len(mine), np.full(len(mine), 1 / len(mine)), size=resamples)
        f1 = [_bootstrap_macro_f1(weights, labels[mine], predicted[mine], classes) for predicted in (candidate, active)]
        result[source] = round(float(np.mean(f1[0] < f1[1])), 4)
    return result


def _bootstrap_macro_f1(weights: np.ndarray, labels: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """Macro-F1 of each resample, ``weights`` (resamples, rows) counting each row's copies."""
    cells = np.eye(classes * classes)[labels * classes + predicted]  # (rows, classes²) one-hot confusion cells
    confusion = (weights @ cells).reshape(len(weights), classes, classes)
    hits = np.diagonal(confusion, axis1=1, axis2=2)
    both = confusion.sum(1) + confusion.sum(2)  # predicted + actual per class: F1 = 2·hits / both
    return np.where(both > 0, 2 * hits / np.maximum(both, 1), 0.0).mean(1)


def measure_predictions(predicted: np.ndarray, rows: EvalSet, classes: list[str]) -> dict[str, Any]:
    """:func:`measure` from predictions already made."""
    if not rows.texts:
        return {"n": 0, "macro_f1": 0.0, "accuracy": 0.0, "per_source": {}}
    labels = np.asarray(rows.labels)
    sources = np.asarray(rows.sources)
    overall = classification_report(labels, predicted, classes)
    per_source = {}
    for source in sorted(set(rows.sources)):
        mine = sources == source
        report = classification_report(labels[mine], predicted[mine], classes)
        per_source[source] = {"n": report["n"], "macro_f1": report["macro_f1"], "accuracy": report["accuracy"]}
    return {"n": overall["n"], "macro_f1": overall["macro_f1"], "accuracy": overall["accuracy"],
            "f1": {name: row["f1"] for name, row in overall["per_class"].items()}, "per_source": per_source}


def judge(candidate: dict[str, Any], active: dict[str, Any], rules: GateRules) -> Verdict:
    """Compare ``{"fixed": measure, "holdout": measure}`` of the candidate with the active model's.

    The candidate's ``fixed`` may carry ``chance_worse`` (source -> :func:`chance_worse`);
    a source without it counts every fall past the margin.
    """
    verdict = Verdict(passed=True)

    def check(name: str, ok: bool, candidate_f1: float, active_f1: float, rule: str, **extra: Any) -> None:
        verdict.checks.append({"check": name, "passed": ok, "candidate": candidate_f1, "active": active_f1,
                               "rule": rule, **extra})
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
        chances = fixed_c.get("chance_worse") or {}
        for source, mine in fixed_c["per_source"].items():
            theirs = fixed_a["per_source"].get(source)
            if theirs is None or mine["n"] < rules.min_domain_rows:
                continue
            fell = mine["macro_f1"] < theirs["macro_f1"] - rules.domain_margin
            chance = chances.get(source)
            sure = chance is None or chance >= rules.domain_confidence
            rule = f"a domain may fall by at most {rules.domain_margin}"
            if fell and chance is not None:
                rule += (f"; {chance:.0%} of paired resamples worse, "
                         f"{'at least' if sure else 'below'} {rules.domain_confidence:.0%}")
            check(f"fixed validation set, {source}", not (fell and sure), mine["macro_f1"], theirs["macro_f1"],
                  rule, **({} if chance is None else {"chance_worse": chance}))
    hold_c, hold_a = candidate.get("holdout"), active.get("holdout")
    if not hold_c or not hold_a or not hold_c.get("n"):
        verdict.passed = False
        verdict.reasons.append("no in-domain hold-out rows to compare on")
    else:
        check("in-domain hold-out", hold_c["macro_f1"] > hold_a["macro_f1"] + rules.min_gain,
              hold_c["macro_f1"], hold_a["macro_f1"], f"must rise by more than {rules.min_gain}")
    return verdict
