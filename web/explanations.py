"""A scored review's "why", as the page, the API and the admin show it.

The worker sends each explained review's sentences (``kernel.events.Explanation``);
people see two of them: the sentence that pulls the score down most and the one that
pulls it up most. A review in a language the model does not read shows, instead of a
score, the reason (``kernel.languages.unscored_reason``). One function per shape, so the
websocket, ``/api/predict?detail=1`` and ``/admin`` agree.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError

from kernel.events import Explanation
from kernel.languages import unscored_reason

log = logging.getLogger(__name__)


def sentence_view(text: str, explanation: Explanation | None, index: int | None) -> dict[str, Any] | None:
    """``{"start", "end", "text", "score", "label"}`` of one sentence (offsets in code points), or None."""
    if explanation is None or index is None or index >= len(explanation.sentences):
        return None
    sentence = explanation.sentences[index]
    return {"start": sentence.start, "end": sentence.end, "text": explanation.sentence_text(text, index),
            "score": sentence.score, "label": sentence.label}


def why(text: str, language: str, explanation: Explanation | None) -> dict[str, Any]:
    """``language``, ``reason`` (None when scored), ``pulls_down``, ``pulls_up``, ``sentences_left_out``."""
    return {
        "language": language,
        "reason": unscored_reason(language),
        "pulls_down": sentence_view(text, explanation, explanation.down if explanation else None),
        "pulls_up": sentence_view(text, explanation, explanation.up if explanation else None),
        "sentences_left_out": explanation.left_out if explanation else 0,
    }


def stored_explanation(value: str | None) -> Explanation | None:
    """The ``explanation`` column read back ('' for rows without one; a bad value is logged, not raised)."""
    if not value:
        return None
    try:
        return Explanation.model_validate_json(value)
    except ValidationError as error:
        log.warning("stored explanation not readable (%s)", error.errors()[0]["msg"])
        return None


def row_why(row: dict[str, Any]) -> dict[str, Any]:
    """A stored row with ``pulls_down``/``pulls_up`` sentence texts (for /admin and its CSV)."""
    text, language = row.get("text") or "", row.get("language") or ""
    shown = why(text, language, stored_explanation(row.get("explanation")))
    down, up = shown["pulls_down"], shown["pulls_up"]
    return {**row, "pulls_down": down["text"] if down else "", "pulls_up": up["text"] if up else "",
            "sentences_left_out": shown["sentences_left_out"], "unscored_reason": shown["reason"] or ""}
