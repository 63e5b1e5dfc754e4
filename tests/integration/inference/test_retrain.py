"""Retraining and gates with a small real char-CNN (input length 256) and seeded labelled rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inference.scorer import Scorer
from inference.training.candidates import LabelledRow, RetrainError, RetrainOptions, build_candidate
from inference.training.data import star_to_class
from inference.training.gates import FIXED_SET_FILE, EvalSet, GateRules, fixed_validation_set, judge, measure
from tests.retrain_data import labelled, small_model, write_corpus

FAST = RetrainOptions(epochs=6, min_rows=50, word_buckets=1 << 12, word_dim=16, progress=False)


def true_class_probability(model_dir: Path, rows: list[LabelledRow]) -> float:
    probs = Scorer.load(model_dir, device="cpu").probabilities([r.text for r in rows])
    return float(np.mean([p[star_to_class(r.rating)] for p, r in zip(probs, rows, strict=True)]))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus") / "corpus.csv", 400, seed=3)


@pytest.fixture(scope="module")
def base_model(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Path:
    return small_model(tmp_path_factory.mktemp("base"), corpus, rows=400)


def test_too_few_rows_are_refused_with_the_fix(tmp_path: Path, base_model: Path) -> None:
    rows = labelled(40, seed=1) + [LabelledRow("", 5, "airline_site")]
    with pytest.raises(RetrainError, match=r"only 40 usable labelled rows .* below --min-rows 50"):
        build_candidate(base_model, rows, tmp_path / "c", "small-r1", FAST, None, "no replay")


def test_retrain_moves_predictions_toward_the_stars(tmp_path: Path, base_model: Path, corpus: Path) -> None:
    rows = labelled(300, seed=11)
    replay = labelled(200, seed=12, source="hotels")
    candidate = build_candidate(base_model, rows, tmp_path / "small-r1", "small-r1", FAST, replay, "test replay")
    assert Scorer.load(candidate.path, device="cpu").version == "small-r1"
    assert candidate.replay == {"rows": 200, "note": "test replay"}
    assert candidate.training_rows == 300 - len(candidate.holdout) + 200
    before = true_class_probability(base_model, rows)
    after = true_class_probability(candidate.path, rows)
    assert after > before + 0.2, (before, after)
    held = candidate.holdout
    assert held and all(r.source == "airline_site" for r in held)
    # the hold-out was never trained on, and the candidate beats its parent there too
    evaluation = EvalSet([r.text for r in held], [star_to_class(r.rating) for r in held], [r.source for r in held])
    assert measure(Scorer.load(candidate.path, device="cpu"), evaluation)["macro_f1"] > \
        measure(Scorer.load(base_model, device="cpu"), evaluation)["macro_f1"]
    assert (candidate.path / "holdout.csv").is_file()


def test_a_worse_candidate_is_refused_with_the_reason(tmp_path: Path, base_model: Path, corpus: Path) -> None:
    good = build_candidate(base_model, labelled(300, seed=21), tmp_path / "good", "small-good", FAST,
                           None, "none")
    # stars flipped (1 <-> 5): better on its own (flipped) hold-out, worse on the fixed validation set
    worse = build_candidate(good.path, labelled(300, seed=22, flip=True), tmp_path / "worse", "small-worse",
                            FAST, None, "none")
    from inference.artefact import read_card

    fixed = fixed_validation_set(tmp_path / FIXED_SET_FILE, read_card(base_model), str(corpus), per_source=100)
    assert (tmp_path / FIXED_SET_FILE).is_file() and len(fixed.texts) > 50
    held = worse.holdout
    holdout = EvalSet([r.text for r in held], [star_to_class(r.rating) for r in held], [r.source for r in held])
    scores = {}
    for name, path in (("good", good.path), ("worse", worse.path)):
        scorer = Scorer.load(path, device="cpu")
        scores[name] = {"fixed": measure(scorer, fixed), "holdout": measure(scorer, holdout)}
    verdict = judge(scores["worse"], scores["good"], GateRules())
    assert not verdict.passed
    assert any(reason.startswith("fixed validation set") and "may fall by at most 0.01" in reason
               for reason in verdict.reasons), verdict.reasons
    same = judge(scores["good"], scores["good"], GateRules())  # as good is not better
    assert not same.passed and [r.split(":")[0] for r in same.reasons] == ["in-domain hold-out"]


@pytest.mark.slow
def test_finetune_strategy_trains_the_whole_network_through_train(tmp_path: Path, base_model: Path) -> None:
    from dataclasses import replace

    from inference.artefact import read_card

    rows = labelled(200, seed=41)
    options = replace(FAST, strategy="finetune", epochs=1)
    candidate = build_candidate(base_model, rows, tmp_path / "small-ft", "small-ft", options, None, "no replay")
    card = read_card(candidate.path)
    assert card.version == "small-ft" and card.architecture["word_buckets"] == FAST.word_buckets
    assert card.training["retrain"]["strategy"] == "finetune" and card.training["rows"] == candidate.training_rows
    assert Scorer.load(candidate.path, device="cpu").probabilities([rows[0].text]).shape == (1, 3)


def test_a_parent_ending_in_a_head_is_corrected_and_the_figures_judge_it(tmp_path: Path, base_model: Path,
                                                                         corpus: Path) -> None:
    """The shipped model ends in a head: a retrain keeps it and learns a correction; the figures run the gates."""
    import csv

    from inference.artefact import load_artefact, save_artefact
    from inference.training.stacking import StackOptions, fit_head, with_head

    limit = csv.field_size_limit()
    from reviewpulse.bench.retrain_figures import gate_verdict

    assert csv.field_size_limit() == limit  # the process-wide CSV limit is the importer's business

    model, card, alphabet = load_artefact(base_model)
    known = labelled(300, seed=31, source="hotels")
    head, _ = fit_head(model, card, alphabet, [r.text for r in known],
                       np.asarray([star_to_class(r.rating) for r in known]),
                       options=StackOptions(buckets=1 << 12, max_iter=200), progress=False)
    joined = with_head(model, head)
    card.architecture = joined.architecture()
    parent = save_artefact(joined, card, tmp_path / "parent")
    candidate = build_candidate(parent, labelled(300, seed=32), tmp_path / "candidate", "small-c1", FAST,
                                labelled(200, seed=33, source="hotels"), "test replay")
    assert candidate.report["corrected_parent_head"] and candidate.report["correction_norm"] > 0
    verdict = gate_verdict(candidate, str(parent), str(corpus), tmp_path / "data")
    assert (tmp_path / "data" / "models" / FIXED_SET_FILE).is_file()  # built from the parent's corpus, as retrain does
    assert 0 < verdict["fixed_before"] <= 1 and 0 < verdict["holdout_after"] <= 1
    assert verdict["gates_passed"] == (not verdict["gate_reasons"])
