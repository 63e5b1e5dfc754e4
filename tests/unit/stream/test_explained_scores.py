"""``stream.worker.processing.score``: each review's language and explanation, and events from before them."""

from __future__ import annotations

import json

from kernel.events import Kind, ReviewEvent, ScoredReview
from kernel.settings import Settings
from stream.worker.processing import ExplainOptions, score
from tests.unit.inference.test_explain import REVIEW, WordScorer

OPTIONS = ExplainOptions.of(Settings(explain_max_sentences=20, explain_imports=False, language_min_letters=25))
GERMAN = "Das Essen war kalt und der Kellner unfreundlich. Nie wieder!"


def test_an_english_review_is_explained_and_a_german_one_gets_no_label() -> None:
    english, german = (ReviewEvent(kind=Kind.review, text=text) for text in (REVIEW, GERMAN))
    first, second = score(WordScorer(), [english, german], options=OPTIONS)
    assert first.language == "en" and first.label == "good" and first.explanation is not None
    assert first.explanation.sentence_text(REVIEW, first.explanation.down) == "The breakfast was awful."
    assert second.language == "de" and second.label == "" and second.explanation is None


def test_drafts_are_explained_and_bulk_imports_only_when_explain_imports_is_on() -> None:
    draft = ReviewEvent(kind=Kind.draft, text=REVIEW, session_id="s")
    imported = ReviewEvent(kind=Kind.imported, text=REVIEW)
    scored_draft, scored_import = score(WordScorer(), [draft, imported], options=OPTIONS)
    assert scored_draft.explanation is not None and scored_import.explanation is None
    on = ExplainOptions(max_sentences=20, imports=True)
    assert score(WordScorer(), [imported], options=on)[0].explanation is not None


def test_explanations_off_still_detects_the_language() -> None:
    [german] = score(WordScorer(), [ReviewEvent(kind=Kind.review, text=GERMAN)], options=ExplainOptions())
    assert german.language == "de" and german.label == "" and german.explanation is None


def test_an_event_from_a_worker_before_issue_32_still_parses_and_a_new_one_round_trips() -> None:
    [new] = score(WordScorer(), [ReviewEvent(kind=Kind.review, text=REVIEW)], options=OPTIONS)
    old = json.loads(new.to_bytes())
    del old["language"], old["explanation"]
    parsed = ScoredReview.model_validate_json(json.dumps(old))
    assert parsed.language == "" and parsed.explanation is None and parsed.label == "good"
    assert ScoredReview.model_validate_json(new.to_bytes()) == new
    # an old reader ignores the new fields (extra="ignore"): what an old web replica does with new events
    assert ReviewEvent.model_validate_json(new.to_bytes()).text == REVIEW
