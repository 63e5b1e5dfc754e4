"""``inference.sentences``: sentence spans slice the original text exactly, whatever it holds."""

from __future__ import annotations

import time

import pytest

from inference.sentences import SPLIT_CHARS, sentence_spans, split_sentences


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in sentence_spans(text)]


def assert_exact(text: str) -> list[tuple[int, int]]:
    """Spans in order, inside the text, not overlapping, trimmed, and covering every non-space character."""
    spans = sentence_spans(text)
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip()
        assert not text[previous_end:start].strip(), f"text between sentences lost: {text[previous_end:start]!r}"
        previous_end = end
    assert not text[previous_end:].strip()
    return spans


@pytest.mark.parametrize("text", [
    "Très bon café. Le personnel était désagréable. Prix élevés!",
    "Great pizza 🍕🍕. The delivery guy was rude 😡 Never again 👎",
    "Line one is good.\r\nLine two is bad.\r\n\r\nLine three, no stop",
    "no final punctuation here at all",
    "  leading and trailing space.   Second one.  ",
    "Zürich: schön. 東京はすごい。 Straße & Café — ok!",
    "👍👍👍",
])
def test_spans_slice_the_original_text_exactly(text: str) -> None:
    spans = assert_exact(text)
    assert spans


def test_crlf_lines_are_sentences_without_their_line_breaks() -> None:
    assert sentences("The app is good\r\nBut it crashes a lot\r\nFix it please") == [
        "The app is good", "But it crashes a lot", "Fix it please"]


def test_review_habits_are_cut_where_a_person_would() -> None:
    assert sentences("Worst hotel ever!!! never again!!!") == ["Worst hotel ever!!!", "never again!!!"]
    assert sentences("Amazing staff :) The wifi was slow :( Still recommend.") == [
        "Amazing staff :)", "The wifi was slow :(", "Still recommend."]
    assert sentences("loved the room. hated the breakfast. would come back") == [
        "loved the room.", "hated the breakfast.", "would come back"]
    assert sentences("Dr. Smith was great, e.g. very kind. Cost $12.50 though.") == [
        "Dr. Smith was great, e.g. very kind.", "Cost $12.50 though."]


def test_a_100000_character_review_is_cut_exactly_from_its_start_and_the_rest_counted() -> None:
    unit = "The room was clean 😀 and quiet. Breakfast was cold!!! staff über-friendly\r\n"
    text = (unit * (100_000 // len(unit) + 1))[:100_000]
    split = split_sentences(text)
    assert_exact(text[:split.spans[-1][1]])
    assert [text[a:b] for a, b in split.spans[:3]] == [
        "The room was clean 😀 and quiet.", "Breakfast was cold!!!", "staff über-friendly"]
    assert split.spans[-1][1] <= SPLIT_CHARS
    assert split.later == pytest.approx(3 * 100_000 / len(unit) - len(split.spans), abs=3)


def test_a_long_review_of_abbreviations_is_split_in_bounded_time() -> None:
    """pysbd's time grows with the square of the text: 28 s for this text whole."""
    started = time.perf_counter()
    split = split_sentences("Dr. " * 25_000)
    assert time.perf_counter() - started < 5
    assert split.spans == [] and split.later > 0  # counted roughly: every "Dr." ends one


def test_blank_text_has_no_sentences() -> None:
    assert sentence_spans("") == [] and sentence_spans(" \r\n\t ") == []
