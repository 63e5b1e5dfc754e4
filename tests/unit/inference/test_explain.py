"""``inference.explain``: sentences ride in the review's call and the one that moves the score is named."""

from __future__ import annotations

from collections.abc import Sequence

from inference.explain import score_explained
from inference.verdicts import Sentiment, sentiment_score, suggested_rating

CLASSES = ["bad", "average", "good"]


class WordScorer:
    """Counts 'awful' against 'great' in a text: a real verdict, from a rule a test can predict."""

    version = "words"
    classes = CLASSES

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def score(self, texts: Sequence[str], passes: int | None = None) -> list[Sentiment]:
        self.calls.append(list(texts))
        results = []
        for text in texts:
            bad, good = text.count("awful") + 0.1, text.count("great") + 0.1
            probs = [bad / (bad + good), 0.0, good / (bad + good)]
            score = sentiment_score(probs, CLASSES)
            results.append(Sentiment(probs, score, CLASSES[0] if bad > good else CLASSES[2], suggested_rating(score)))
        return results


REVIEW = "The room was great. The view was great too. The breakfast was awful. Staff great."


def test_the_negative_sentence_among_positive_ones_pulls_the_score_down() -> None:
    scorer = WordScorer()
    [(verdict, explanation)] = score_explained(scorer, [REVIEW], [True], max_sentences=20)
    assert explanation is not None and len(scorer.calls) == 1, "one call for the review and its sentences"
    assert explanation.sentence_text(REVIEW, explanation.down) == "The breakfast was awful."
    assert explanation.sentence_text(REVIEW, explanation.up) in {"The room was great.", "Staff great."}
    assert [REVIEW[s.start:s.end] for s in explanation.sentences][2] == "The breakfast was awful."
    assert explanation.sentences[2].label == "bad" and explanation.left_out == 0
    assert verdict.score == WordScorer().score([REVIEW])[0].score


def test_longer_reviews_are_explained_from_the_start_and_say_how_many_were_left_out() -> None:
    text = " ".join(f"Sentence {i} was great." for i in range(30))
    [(_, explanation)] = score_explained(WordScorer(), [text], [True], max_sentences=5)
    assert explanation is not None
    assert len(explanation.sentences) == 5 and explanation.left_out == 25


def test_unwanted_and_single_sentence_reviews_add_nothing_to_the_call() -> None:
    scorer = WordScorer()
    results = score_explained(scorer, [REVIEW, "Just great"], [False, True], max_sentences=20)
    assert scorer.calls == [[REVIEW, "Just great"]]
    assert results[0][1] is None
    single = results[1][1]
    assert single is not None and single.down is None and single.up is None and len(single.sentences) == 1


def test_leave_out_and_both_name_the_same_sentence_here() -> None:
    for method in ("leave_out", "both"):
        [(_, explanation)] = score_explained(WordScorer(), [REVIEW], [True], 20, method)
        assert explanation is not None
        assert explanation.sentence_text(REVIEW, explanation.down) == "The breakfast was awful."
