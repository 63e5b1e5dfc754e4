"""Which language detector tells short reviews apart: pycld2, py3langid, lingua (docs/explanations-and-languages.md).

Each detector's answer goes through the same decision ``inference.language`` makes with
CLD2: fewer than 25 letters is English; no language recognised is "unrecognised". Right
means: English reviews scored as English, German/Spanish/French/Italian/Portuguese/Dutch
named, Hindi in Latin script not scored as English, emoji-only scored as English.
Outside the rooms because it imports the detectors ReviewPulse does not ship. To rerun::

    pip install py3langid==0.4.0 lingua-language-detector==2.1.1
    python docs/measurements/compare_detectors.py ../shared/data/reviews_train.csv
"""

from __future__ import annotations

import csv
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import py3langid  # type: ignore[import-untyped]
import pycld2  # type: ignore[import-untyped]
from lingua import LanguageDetectorBuilder  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from language_snippets import SNIPPETS  # noqa: E402

from inference.language import letter_count  # noqa: E402

MIN_LETTERS = 25
Detector = Callable[[str], str]


def cld2(text: str) -> str:
    try:
        code = pycld2.detect(text)[2][0][1]
    except pycld2.error:
        return "en"
    return "und" if code == "un" else code


def langid(text: str) -> str:
    return str(py3langid.classify(text)[0])


def lingua_detector(low_accuracy: bool) -> Detector:
    builder = LanguageDetectorBuilder.from_all_languages()
    detector = (builder.with_low_accuracy_mode() if low_accuracy else builder.with_preloaded_language_models()).build()

    def detect(text: str) -> str:
        found = detector.detect_language_of(text)
        return "und" if found is None else found.iso_code_639_1.name.lower()

    return detect


def cases(path: Path) -> list[tuple[str, str]]:
    """100 English corpus reviews under 400 characters (every 997th row), then the written snippets."""
    english: list[str] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for i, row in enumerate(csv.DictReader(handle)):
            if i % 997 == 0 and len(row["text"]) < 400:
                english.append(row["text"])
            if len(english) == 100:
                break
    expected = {"hi-Latn": "hi-Latn", "emoji": "en", "en-foreign": "en"}
    return [(text, "en") for text in english] + [
        (text, expected.get(group, group)) for group, texts in SNIPPETS.items() for text in texts]


def decided(detect: Detector, text: str) -> str:
    return "en" if letter_count(text) < MIN_LETTERS else detect(text)


def right(expected: str, answer: str) -> bool:
    return answer != "en" if expected == "hi-Latn" else answer == expected


def main(path: Path) -> None:
    labelled = cases(path)
    print(f"| detector | right (of {len(labelled)}) | English | other languages | Hindi (Latin) | µs per review |")
    print("|---|---|---|---|---|---|")
    for name, make in (("pycld2", lambda: cld2), ("py3langid", lambda: langid),
                       ("lingua, high accuracy", lambda: lingua_detector(False)),
                       ("lingua, low accuracy", lambda: lingua_detector(True))):
        detect = make()
        detect("warm up")
        started = time.perf_counter()
        answers = [decided(detect, text) for text, _ in labelled]
        per_review_us = (time.perf_counter() - started) / len(labelled) * 1e6
        groups: dict[str, list[bool]] = {}
        for (_, expected), answer in zip(labelled, answers, strict=True):
            group = expected if expected in ("en", "hi-Latn") else "other"
            groups.setdefault(group, []).append(right(expected, answer))
        total = sum(sum(v) for v in groups.values())
        share = {g: f"{sum(v)}/{len(v)}" for g, v in groups.items()}
        print(f"| {name} | {total} | {share['en']} | {share['other']} | {share['hi-Latn']} | {per_review_us:.0f} |")
    print(f"\npeak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
