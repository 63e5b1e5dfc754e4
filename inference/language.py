"""Which language a review is written in: CLD2 (pycld2), whose model ships in the wheel.

Why CLD2: on 166 short review texts (113 English: 100 from the corpus, 5 emoji-only, 8
with a foreign word; 45 German, Spanish, French, Italian, Portuguese and Dutch; 8 Hindi in
Latin script), with the rules below it decided 165 right at ~13 µs per review; py3langid
165 at ~75 µs, lingua 166 at ~1,700 µs and 1.4 GB of memory (docs/explanations-and-languages.md,
``docs/measurements/compare_detectors.py``).

The rules: a text with fewer than ``min_letters`` letters is English (too short to
tell; such a text was always scored). A text in which CLD2 finds English among its
languages (``MIXED_ENGLISH_PERCENT`` of it or more) is English: mixed texts are scored.
CLD2 recognising no language in a long text (Hindi or Hinglish in Latin script, which it
does not know, or noise) gives ``kernel.languages.UNRECOGNISED``.
"""

from __future__ import annotations

import logging

from kernel.languages import UNRECOGNISED

log = logging.getLogger(__name__)

ENGLISH = "en"
#: A text at least this much English (by CLD2's own share) is scored as English.
MIXED_ENGLISH_PERCENT = 30
#: Characters the detector reads at most: the language of a review shows in its start.
DETECT_CHARS = 20_000


def letter_count(text: str) -> int:
    return sum(1 for char in text if char.isalpha())


def detect_language(text: str, min_letters: int = 25) -> str:
    """ISO 639-1 code of ``text``'s language (``en`` for short and mixed texts, ``und``: unrecognised)."""
    sample = text[:DETECT_CHARS]
    if letter_count(sample) < min_letters:
        return ENGLISH
    import pycld2

    try:
        _, _, found = pycld2.detect(sample)
    except pycld2.error as error:  # text CLD2 cannot read: scored, as before detection
        log.debug("language not detected (%s); scored as English", error)
        return ENGLISH
    codes = [(code, percent) for _, code, percent, _ in found if code != "un"]
    if not codes:
        return UNRECOGNISED
    if any(code == ENGLISH and percent >= MIXED_ENGLISH_PERCENT for code, percent in codes):
        return ENGLISH
    return codes[0][0]
