"""A review cut into sentences, as spans of its own text.

Why pysbd, plus a pass of our own: on 20 review-like cases (abbreviations, prices,
"!!!", emoticons, missing capitals, line breaks) pysbd cut 16 right, syntok 15, blingfire
14; what all three missed were "!!!"/"?" followed by a lower-case word, emoticons and
line breaks, which :data:`_BREAKS` cuts after the splitter (pysbd then 19 of 20, syntok 18,
blingfire 17). pysbd is the slowest (~1.6 ms per review against ~0.1-0.3): the price of
"loved the room. hated the breakfast." cut right. Figures in
docs/explanations-and-languages.md (``docs/measurements/compare_splitters.py``).

Spans are found back in the original text (never taken from the splitter's own
offsets, which drift with its clean-ups), so ``text[start:end]`` is the sentence exactly,
whatever the text holds (CRLF, emoji, no final punctuation).

pysbd reads only the first ``SPLIT_CHARS`` characters: its time grows with the square of
a text's length (measured: 16 ms for 1,000 characters of "Dr. ", 214 ms for 8,000, 28 s
for 100,000), and the model reads only the first 1,014 characters anyway. Sentences after
that are counted by a rough linear rule (``_ROUGH``), for "N more sentences".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

#: Characters of a review pysbd splits, at most (about twice what the model reads).
SPLIT_CHARS = 2_000
#: Where the rough count of later sentences cuts: after ".", "!" or "?" runs, and at line breaks.
_ROUGH = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")

#: Breaks inside a splitter's sentence: a line break, "!"/"?" runs, an emoticon, then a new word.
_BREAKS = re.compile(
    r"\s*\n\s*"
    r"|(?<=[!?])\s+"
    r"|(?<=[:;][)(DPp])\s+|(?<=[:;]-[)(DPp])\s+"
    r"|(?<=[\U0001F300-\U0001FAFF])\s+(?=[A-Z])"
)


@cache
def _segmenter() -> Any:
    import pysbd

    return pysbd.Segmenter(language="en", clean=False)


def _pieces(text: str) -> list[str]:
    """The sentences' texts in order, trimmed (possibly altered by the splitter: found back by ``spans``)."""
    pieces = []
    for sentence in _segmenter().segment(text):
        pieces += [piece.strip() for piece in _BREAKS.split(sentence) if piece.strip()]
    return pieces


@dataclass(frozen=True)
class Sentences:
    """A text's sentences: exact spans from its start, and a count of those after them."""

    #: ``(start, end)`` of each sentence in the first SPLIT_CHARS characters, in order, trimmed.
    spans: list[tuple[int, int]]
    #: Sentences after the last span (texts longer than SPLIT_CHARS), counted roughly.
    later: int = 0


def split_sentences(text: str) -> Sentences:
    """``text`` cut into sentences; see the module docstring for what is exact and what is counted.

    A piece the splitter changed so it is no longer found verbatim (it should not
    happen with ``clean=False``) is left out of every span, so offsets stay exact. An
    empty or blank text has no sentences. In a text longer than SPLIT_CHARS, the last
    sentence of the split part may be cut: it is counted with the later ones instead.
    """
    head = text[:SPLIT_CHARS]
    if not head.strip():
        return Sentences([], _rough_count(text))
    spans = _spans(head)
    if len(text) <= SPLIT_CHARS:
        return Sentences(spans or [_trimmed(head)])
    spans = spans[:-1]
    return Sentences(spans, _rough_count(text[spans[-1][1] if spans else 0:]))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """The exact spans of :func:`split_sentences` alone."""
    return split_sentences(text).spans


def _spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    position = 0
    for piece in _pieces(text):
        start = text.find(piece, position)
        if start < 0:
            continue
        spans.append((start, start + len(piece)))
        position = start + len(piece)
    return spans


def _rough_count(text: str) -> int:
    return sum(1 for piece in _ROUGH.split(text) if piece.strip())


def _trimmed(text: str) -> tuple[int, int]:
    start = len(text) - len(text.lstrip())
    return start, len(text.rstrip())
