"""``reviewpulse retrain`` skips reviews in languages the model does not read, and says how many."""

from __future__ import annotations

from stream.learning.retraining import _languages_line, scored_language_rows


def test_rows_in_other_languages_are_skipped_and_counted_per_language() -> None:
    rows = [{"text": "fine", "language": "en"}, {"text": "gut", "language": "de"},
            {"text": "bien", "language": "es"}, {"text": "theek", "language": "und"},
            {"text": "old row", "language": ""}, {"text": "old server"}]
    kept, skipped = scored_language_rows(rows)
    assert [row["text"] for row in kept] == ["fine", "old row", "old server"]
    assert skipped == {"de": 1, "es": 1, "und": 1}
    assert _languages_line({"rows": 3, "by_language": skipped}) == (
        "skipped 3 reviews in languages the model does not read (de: 1, es: 1, und: 1)")
    assert _languages_line({}) == "skipped 0 reviews in languages the model does not read"
