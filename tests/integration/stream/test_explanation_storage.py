"""Embedded chDB: migration 8 gives stored rows a language and an empty explanation; new rows keep theirs."""

from __future__ import annotations

import uuid

from kernel.events import Explanation, ScoredReview, SentenceScore
from stream.learning.retraining import scored_language_rows
from stream.storage.labelled import labelled_rows
from stream.storage.migrations import MIGRATIONS
from stream.storage.queries import ReviewFilter, list_reviews

TEXT = "Great room. Awful breakfast."


def review(brand: str, **fields: object) -> ScoredReview:
    values: dict[str, object] = {"kind": "imported", "text": TEXT, "brand": brand, "rating": 4,
                                 "source": "explain-test", "probs": [0.2, 0.2, 0.6], "score": 0.7, "label": "good",
                                 "suggested_rating": 4, "model_version": "t"}
    return ScoredReview.model_validate({**values, **fields})


def statements(version: int) -> list[str]:
    return next(sql for number, _, sql in MIGRATIONS if number == version)


def test_migration_8_fills_rows_stored_before_it(storage) -> None:
    """The reviews table as migration 1 made it, with a row in it, then migration 8: defaults, no rewrite."""
    table = f"reviews_before_{uuid.uuid4().hex[:8]}"
    storage.command(statements(1)[0].replace("IF NOT EXISTS reviews", f"IF NOT EXISTS {table}"))
    storage.command(f"INSERT INTO {table} (id, kind, text, label, score) VALUES ('old', 'review', 'Fine.', 'good', 0.7)")
    for statement in statements(8):
        storage.command(statement.replace("ALTER TABLE reviews", f"ALTER TABLE {table}"))
        storage.command(statement.replace("ALTER TABLE reviews", f"ALTER TABLE {table}"))  # runs again: IF NOT EXISTS
    [row] = storage.query(f"SELECT id, language, explanation FROM {table}")
    assert row == {"id": "old", "language": "", "explanation": ""}


def test_an_event_without_the_new_fields_stores_and_a_new_one_keeps_its_sentences(storage) -> None:
    brand = f"brand-{uuid.uuid4().hex}"
    explanation = Explanation(sentences=[SentenceScore(start=0, end=11, score=0.9, label="good", effect=0.2),
                                         SentenceScore(start=12, end=28, score=0.1, label="bad", effect=-0.6)],
                              down=1, up=0)
    old = review(brand)
    new = review(brand, language="en", explanation=explanation)
    german = review(brand, text="Das Essen war kalt.", language="de", label="")
    storage.insert_reviews([old, new, german])
    rows = {row["id"]: row for row in list_reviews(storage, ReviewFilter(brand=brand), limit=10).rows}
    assert rows[old.id]["language"] == "" and rows[old.id]["explanation"] == ""
    assert Explanation.model_validate_json(rows[new.id]["explanation"]) == explanation
    assert rows[german.id]["language"] == "de" and rows[german.id]["label"] == ""


def test_retrain_rows_carry_the_language_and_other_languages_are_skipped(storage) -> None:
    source = f"explain-{uuid.uuid4().hex[:8]}"
    english = review("b", source=source, language="en")
    german = review("b", source=source, text="Das Essen war kalt und der Kellner unfreundlich.", language="de",
                    label="")
    spanish = review("b", source=source, text="La comida estaba fría.", language="es", label="")
    storage.insert_reviews([english, german, spanish])
    kept, skipped = scored_language_rows(labelled_rows(storage, [source]))
    assert [row["text"] for row in kept] == [TEXT] and skipped == {"de": 1, "es": 1}


def test_reviews_in_other_languages_are_not_queued_for_labels_nor_counted_as_disagreeing(storage) -> None:
    from stream.storage.label_queue import least_sure, stars_disagree

    brand = f"brand-{uuid.uuid4().hex}"
    german = review(brand, text="Das Essen war kalt.", language="de", label="", rating=1)
    storage.insert_reviews([german])
    assert list_reviews(storage, ReviewFilter(brand=brand, disagreement=True)).total == 0
    queued = {row["id"] for row in least_sure(storage, None, limit=10_000) + stars_disagree(storage, limit=10_000)}
    assert german.id not in queued
