"""Retraining without training a network: which labelled rows are kept, how they weigh, and the gate's reasons."""

from __future__ import annotations

import numpy as np
import torch

from inference.training.candidates import LabelledRow, RetrainOptions, _mix_weights, clean_rows
from inference.training.data import star_to_class
from inference.training.gates import GateRules, judge


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




def test_in_domain_rows_weigh_a_share_of_the_replay() -> None:
    site = [LabelledRow("fine", 3, "site"), LabelledRow("bad", 1, "site", weight=3.0)]
    replay = [LabelledRow("ok", 5, "corpus")] * 20
    weights = _mix_weights(site, replay, share=0.5)
    np.testing.assert_allclose(weights, [5.0, 15.0] + [1.0] * 20)  # 2 rows -> 10 of the replay's 20, x3 kept
    np.testing.assert_allclose(_mix_weights(site, replay[:3], share=0.5), [1.0, 3.0, 1.0, 1.0, 1.0])  # never below 1
    assert RetrainOptions().in_domain_share == 0.5


def test_the_in_domain_share_lets_a_few_site_rows_outvote_the_replay(tmp_path) -> None:
    """Replay says "sick" is bad 400 times, the site says good 20 times: unweighted the replay decides."""
    from inference.artefact import load_artefact, save_untrained
    from inference.training.stacking import StackOptions, fit_head
    from inference.words import ngram_bags

    model, card, alphabet = load_artefact(save_untrained(tmp_path / "base"))
    rng = np.random.default_rng(7)
    filler = ["the", "board", "deck", "trick", "park"]

    def rows(count: int, word: str, rating: int, source: str) -> list[LabelledRow]:
        return [LabelledRow(" ".join([*rng.choice(filler, 4), word]), rating, source) for _ in range(count)]

    site = rows(20, "sick", 5, "site") + rows(20, "broken", 1, "site") + rows(10, "meh", 3, "site")
    replay = rows(400, "sick", 1, "corpus") + rows(200, "lovely", 5, "corpus") + rows(200, "meh", 3, "corpus")
    mix = site + replay
    labels = np.asarray([star_to_class(r.rating) for r in mix])
    ids, offsets = (torch.from_numpy(a) for a in ngram_bags(["the deck sick"], 4096))
    verdicts = {}
    for share in (0.0, 1.0):
        head, _ = fit_head(model, card, alphabet, [r.text for r in mix], labels, _mix_weights(site, replay, share),
                           StackOptions(buckets=4096, max_iter=300), progress=False,
                           stack_candidates=np.arange(len(site)))
        with torch.no_grad():
            verdicts[share] = int(head.word_logits(ids, offsets).argmax(1)[0])
    assert verdicts == {0.0: 0, 1.0: 2}


def test_a_domain_fall_counts_only_when_the_paired_bootstrap_is_sure_of_it() -> None:
    def figures(f1: float, chance: float | None = None) -> dict:
        fixed = {"n": 500, "macro_f1": 0.70, "per_source": {"apps": {"n": 200, "macro_f1": f1}}}
        if chance is not None:
            fixed["chance_worse"] = {"apps": chance}
        return {"fixed": fixed, "holdout": {"n": 200, "macro_f1": 0.60}}

    active = {"fixed": {"n": 500, "macro_f1": 0.70, "per_source": {"apps": {"n": 200, "macro_f1": 0.65}}},
              "holdout": {"n": 200, "macro_f1": 0.55}}
    assert not judge(figures(0.61), active, GateRules()).passed  # no bootstrap figure: the margin alone
    noise = judge(figures(0.61, chance=0.80), active, GateRules())
    assert noise.passed and noise.checks[1]["chance_worse"] == 0.80 and "below 95%" in noise.checks[1]["rule"]
    real = judge(figures(0.61, chance=0.99), active, GateRules())
    assert not real.passed and "99% of paired resamples worse, at least 95%" in real.reasons[0]
    assert not judge(figures(0.61, chance=0.80), active, GateRules(domain_confidence=0.0)).passed


def test_chance_worse_tells_a_real_fall_from_noise() -> None:
    from inference.training.gates import EvalSet, chance_worse

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 600)
    right = labels.copy()
    noisy = np.where(rng.random(600) < 0.3, rng.integers(0, 3, 600), labels)  # ~20% wrong everywhere
    worse = noisy.copy()
    worse[:300] = np.where(rng.random(300) < 0.5, (labels[:300] + 1) % 3, labels[:300])  # "a" gets much worse
    rows = EvalSet([""] * 600, labels.tolist(), ["a"] * 300 + ["b"] * 300)
    chances = chance_worse(worse, noisy, rows, 3)
    assert chances["a"] > 0.99  # far worse on a's rows
    assert chances["b"] == 0.0  # identical predictions on b's rows: never worse
    assert chance_worse(noisy, right, rows, 3)["a"] == 1.0  # anything wrong is worse than perfect
    assert chance_worse(worse, noisy, rows, 3) == chances  # seeded
