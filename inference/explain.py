"""Scores with reasons: each review's verdict, and which of its sentences move it, in one batched call.

The sentences' texts ride in the same ``score`` call as the reviews (the scorer sorts
every text by length into its passes), so an explanation costs one more set of
forward-pass rows, never a second round trip. Three ways to measure a sentence's
``effect`` on its review's score:

* ``sentences``: the sentence scored alone, minus the review's score;
* ``leave_out``: the review's score minus the score of the review without the sentence;
* ``both``: the mean of the two.

``METHOD`` is the one the labelled check chose (docs/explanations-and-languages.md,
``reviewpulse bench explain``): the others stay for that check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from inference.protocol import Scorer, Verdict
from inference.sentences import split_sentences
from kernel.events import Explanation, SentenceScore

Method = Literal["sentences", "leave_out", "both"]
METHOD: Method = "sentences"
#: A sentence is highlighted only when it moves the score at least this much (0..1).
MIN_EFFECT = 0.05


@dataclass(frozen=True)
class _Plan:
    """One review's share of the call: its spans and where their texts sit in the call's list."""

    spans: list[tuple[int, int]]
    left_out: int
    alone: range
    without: range


def score_explained(scorer: Scorer, texts: Sequence[str], explain: Sequence[bool], max_sentences: int,
                    method: Method = METHOD) -> list[tuple[Verdict, Explanation | None]]:
    """Each text's verdict, and for those with ``explain`` set (and ``max_sentences`` > 0) its explanation."""
    batch = list(texts)
    plans: list[_Plan | None] = []
    for text, wanted in zip(texts, explain, strict=True):
        plans.append(_plan(text, batch, max_sentences, method) if wanted and max_sentences > 0 else None)
    verdicts = list(scorer.score(batch))
    return [(verdicts[i], None if plan is None else _explanation(plan, verdicts[i], verdicts, method))
            for i, plan in enumerate(plans)]


def _plan(text: str, batch: list[str], max_sentences: int, method: Method) -> _Plan:
    """Append the texts this review's explanation needs to ``batch``."""
    split = split_sentences(text)
    kept = split.spans[:max_sentences]
    first = len(batch)
    if method != "leave_out" and len(kept) > 1:  # one sentence: its verdict is the review's
        batch += [text[start:end] for start, end in kept]
    alone = range(first, len(batch))
    first = len(batch)
    if method != "sentences" and len(kept) > 1:
        batch += [text[:start] + text[end:] for start, end in kept]
    return _Plan(kept, len(split.spans) - len(kept) + split.later, alone, range(first, len(batch)))


def _explanation(plan: _Plan, review: Verdict, verdicts: Sequence[Verdict], method: Method) -> Explanation:
    alone = [verdicts[i] for i in plan.alone] or [review] * len(plan.spans)
    effects = [0.0] * len(plan.spans)
    if method != "leave_out":
        effects = [v.score - review.score for v in alone]
    if plan.without:
        dropped = [review.score - verdicts[i].score for i in plan.without]
        effects = dropped if method == "leave_out" else [(a + b) / 2 for a, b in zip(effects, dropped, strict=True)]
    sentences = [
        SentenceScore(start=start, end=end, score=_unit(v.score), label=v.label, effect=max(min(effect, 1.0), -1.0))
        for (start, end), v, effect in zip(plan.spans, alone, effects, strict=True)
    ]
    down, up = _extremes(effects)
    return Explanation(sentences=sentences, left_out=plan.left_out, down=down, up=up)


def _extremes(effects: list[float]) -> tuple[int | None, int | None]:
    """Indices of the sentence that pulls the score down most and up most; None when none does enough."""
    if len(effects) < 2:
        return None, None
    low = min(range(len(effects)), key=effects.__getitem__)
    high = max(range(len(effects)), key=effects.__getitem__)
    return (low if effects[low] <= -MIN_EFFECT else None), (high if effects[high] >= MIN_EFFECT else None)


def _unit(score: float) -> float:
    return min(max(float(score), 0.0), 1.0)
