"""Which sentence splitter cuts reviews where a person would: pysbd, syntok, blingfire, each alone and with
the post-pass ``inference.sentences`` adds (docs/explanations-and-languages.md).

Outside the rooms because it imports the two splitters ReviewPulse does not ship. To rerun::

    pip install syntok==1.4.4 blingfire==0.1.8
    python docs/measurements/compare_splitters.py ../shared/data/reviews_train.csv
"""

from __future__ import annotations

import csv
import sys
import time
from collections.abc import Callable
from pathlib import Path

import blingfire  # type: ignore[import-untyped]
import pysbd  # type: ignore[import-untyped]
from syntok import segmenter  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from inference.sentences import _BREAKS  # noqa: E402 - the post-pass as shipped

Splitter = Callable[[str], list[str]]
#: (review, the sentences a person would cut it into): the habits of review text.
CASES = [
    ("Dr. Smith was great. The nurse was rude.", ["Dr. Smith was great.", "The nurse was rude."]),
    ("Bought it in the U.S. last year. It broke in a week.", ["Bought it in the U.S. last year.", "It broke in a week."]),
    ("Great food, e.g. the pasta. Terrible service though.", ["Great food, e.g. the pasta.", "Terrible service though."]),
    ("loved the room. hated the breakfast. would come back",
     ["loved the room.", "hated the breakfast.", "would come back"]),
    ("Worst hotel ever!!! Never again!!!", ["Worst hotel ever!!!", "Never again!!!"]),
    ("Amazing staff :) The wifi was slow :( Still recommend.",
     ["Amazing staff :)", "The wifi was slow :(", "Still recommend."]),
    ("Was it worth it? No. Not at all.", ["Was it worth it?", "No.", "Not at all."]),
    ("Cost $12.50 per dish. Too pricey.", ["Cost $12.50 per dish.", "Too pricey."]),
    ("Delivery took 3 hrs. The food was cold...but tasty.", ["Delivery took 3 hrs.", "The food was cold...but tasty."]),
    ("The app is good\nBut it crashes a lot\nFix it please", ["The app is good", "But it crashes a lot", "Fix it please"]),
    ("Friendly staff. Clean rooms. Bad location.", ["Friendly staff.", "Clean rooms.", "Bad location."]),
    ("I waited 45 min. for a table!! Unacceptable.", ["I waited 45 min. for a table!!", "Unacceptable."]),
    ("Good value.Bad support.", ["Good value.", "Bad support."]),
    ("Mr. and Mrs. Jones run it well. Food ok.", ["Mr. and Mrs. Jones run it well.", "Food ok."]),
    ("5 stars!!! the best pizza in town", ["5 stars!!!", "the best pizza in town"]),
    ('They said "no refunds." I was shocked.', ['They said "no refunds."', "I was shocked."]),
    ("Version 2.0 fixed the bugs. Battery life is still bad.", ["Version 2.0 fixed the bugs.", "Battery life is still bad."]),
    ("Nice place 😊 but noisy. Parking is hard.", ["Nice place 😊 but noisy.", "Parking is hard."]),
    ("Ordered at 7 p.m. and it came at 9. Late again.", ["Ordered at 7 p.m. and it came at 9.", "Late again."]),
    ("good product. fast shipping!! will buy again :-)", ["good product.", "fast shipping!!", "will buy again :-)"]),
]


def with_pysbd() -> Splitter:
    segment = pysbd.Segmenter(language="en", clean=False).segment
    return lambda text: [s.strip() for s in segment(text)]


def with_syntok(text: str) -> list[str]:
    sentences = []
    for paragraph in segmenter.analyze(text):
        for sentence in paragraph:
            tokens = list(sentence)
            if tokens:
                sentences.append(text[tokens[0].offset:tokens[-1].offset + len(tokens[-1].value)].strip())
    return sentences


def with_blingfire(text: str) -> list[str]:
    return [text[a:b].strip() for a, b in blingfire.text_to_sentences_and_offsets(text)[1]]


def post_pass(split: Splitter) -> Splitter:
    return lambda text: [p.strip() for s in split(text) for p in _BREAKS.split(s) if p.strip()]


def corpus_sample(path: Path, count: int = 300) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [row["text"] for i, row in enumerate(csv.DictReader(handle)) if i % 200 == 0][:count]


def main(path: Path) -> None:
    texts = corpus_sample(path)
    long_review = " ".join(texts)[:100_000]
    print(f"| splitter | cases right (of {len(CASES)}) | ms per review ({len(texts)} corpus reviews) "
          "| 100,000-character review (s) |")
    print("|---|---|---|---|")
    splitters = {"pysbd": with_pysbd(), "syntok": with_syntok, "blingfire": with_blingfire}
    splitters |= {f"{name} + post-pass": post_pass(split) for name, split in list(splitters.items())}
    for name, split in splitters.items():
        right = sum(1 for text, expected in CASES if [s for s in split(text) if s] == expected)
        started = time.perf_counter()
        for text in texts:
            split(text)
        per_review_ms = (time.perf_counter() - started) / len(texts) * 1000
        started = time.perf_counter()
        split(long_review)
        print(f"| {name} | {right} | {per_review_ms:.2f} | {time.perf_counter() - started:.2f} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
