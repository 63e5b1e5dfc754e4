"""``web.explanations`` and the frames and answers built from it: the "why" people see."""

from __future__ import annotations

import json

from kernel.events import Explanation, Kind, ScoredReview, SentenceScore
from kernel.framing import encode_array
from web.api import score_detail
from web.explanations import row_why, why
from web.live import LiveHub
from web.metrics import WebMetrics
from web.replies import Replies
from web.routing import ScoredRouter

TEXT = "Lovely room 😀. Awful breakfast. Great staff"
EXPLANATION = Explanation(sentences=[
    SentenceScore(start=0, end=14, score=0.9, label="good", effect=0.2),
    SentenceScore(start=15, end=31, score=0.1, label="bad", effect=-0.6),
    SentenceScore(start=32, end=43, score=0.95, label="good", effect=0.25),
], left_out=2, down=1, up=2)


def scored(text: str = TEXT, language: str = "en", explanation: Explanation | None = EXPLANATION,
           label: str = "good", session_id: str | None = None) -> ScoredReview:
    return ScoredReview(kind=Kind.draft if session_id else Kind.review, text=text, session_id=session_id,
                        probs=[0.1, 0.2, 0.7], score=0.8, label=label, suggested_rating=5, model_version="t",
                        language=language, explanation=explanation)


def test_why_names_the_sentences_with_their_exact_text() -> None:
    shown = why(TEXT, "en", EXPLANATION)
    assert shown["pulls_down"]["text"] == "Awful breakfast." and shown["pulls_up"]["text"] == "Great staff"
    assert shown["reason"] is None and shown["sentences_left_out"] == 2


def test_a_german_review_has_no_label_and_says_why() -> None:
    detail = score_detail(scored("Das Essen war kalt.", "de", None, label=""))
    assert detail["label"] is None and detail["suggested_rating"] is None
    assert detail["reason"] == "ReviewPulse scores English reviews, and this one looks like German"
    assert detail["pulls_down"] is None and detail["language"] == "de"


def test_a_stored_row_shows_its_sentences_and_a_row_from_before_shows_none() -> None:
    row = row_why({"text": TEXT, "language": "en", "explanation": EXPLANATION.model_dump_json()})
    assert row["pulls_down"] == "Awful breakfast." and row["pulls_up"] == "Great staff"
    old = row_why({"text": TEXT, "language": "", "explanation": ""})
    assert old["pulls_down"] == "" and old["unscored_reason"] == "" and old["sentences_left_out"] == 0
    assert row_why({"text": TEXT, "language": "en", "explanation": "{not json"})["pulls_down"] == ""


def test_an_old_event_without_the_new_fields_still_routes_to_its_session() -> None:
    old = json.loads(scored(session_id="s1").to_bytes())
    del old["language"], old["explanation"]
    seen: list[ScoredReview] = []
    router = ScoredRouter(WebMetrics(), LiveHub(10), Replies())
    router.add_session("s1", seen.append)
    router.route(json.dumps(old).encode())
    router.route(encode_array([json.dumps(old).encode()]))
    assert len(seen) == 2 and seen[0].language == "" and seen[0].explanation is None
    assert why(seen[0].text, seen[0].language, seen[0].explanation)["reason"] is None
