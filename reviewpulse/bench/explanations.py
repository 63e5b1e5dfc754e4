"""``bench explain``: which sentence-effect method picks the sentence a person would, and its cost.

The labelled check (``build_mixed``): from the corpus, per source, sentences of 1-2★
reviews (negative) and of 4-5★ reviews (positive), 4 to 40 words each, from reviews of
at most 3 sentences (so the sentence carries its review's stars). A mixed review is three
such sentences of one source in a seeded random order: two of one side and one "odd"
sentence of the other. A person would highlight the odd one: as the sentence that pulls
the score down when it is negative, up when it is positive. Each method is right when
its highlight on the odd sentence's side is that sentence.

Real 3★ reviews of 2 to 6 sentences have no such answer: for them the table gives how
often each method highlights anything, and how often two methods agree.
"""

from __future__ import annotations

import csv
import random
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from inference.explain import Method, score_explained
from inference.scorer import Scorer
from inference.sentences import sentence_spans

METHODS: tuple[Method, ...] = ("sentences", "leave_out", "both")


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def read_pools(path: Path, rows: int, seed: int) -> tuple[dict[str, dict[str, list[str]]], list[str]]:
    """(source -> {"neg"|"pos": sentences}, real 3★ reviews of 2-6 sentences), from a seeded sample of rows."""
    rng = random.Random(seed)
    pools: dict[str, dict[str, list[str]]] = defaultdict(lambda: {"neg": [], "pos": []})
    three_star: list[str] = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if rng.random() > rows / 400_000:
                continue
            stars, text = int(float(row["rating"] or 0)), row["text"]
            sentences = _sentences(text) if len(text) < 1500 else []
            if stars == 3 and 2 <= len(sentences) <= 6:
                three_star.append(text)
            side = "neg" if stars in (1, 2) else "pos" if stars in (4, 5) else None
            if side and 1 <= len(sentences) <= 3:
                pools[row["source"]][side] += [s for s in sentences if 4 <= len(s.split()) <= 40]
    return pools, three_star


def build_mixed(pools: dict[str, dict[str, list[str]]], count: int, seed: int) -> list[tuple[str, int, str]]:
    """``count`` (text, index of the odd sentence, "down" or "up") of three sentences each."""
    rng = random.Random(seed)
    sources = sorted(s for s, p in pools.items() if len(p["neg"]) >= 2 and len(p["pos"]) >= 2)
    mixed = []
    for i in range(count):
        pool = pools[rng.choice(sources)]
        odd_side, other = ("neg", "pos") if i % 2 == 0 else ("pos", "neg")
        parts = rng.sample(pool[other], 2)
        odd = rng.choice(pool[odd_side])
        place = rng.randrange(3)
        parts.insert(place, odd)
        mixed.append((" ".join(parts), place, "down" if odd_side == "neg" else "up"))
    return mixed


def run_explain_bench(model: Path, data: Path, count: int, seed: int, threads: int, max_sentences: int = 20,
                      rows: int = 20_000) -> dict[str, Any]:
    """The method table on ``count`` mixed reviews and up to ``count`` real 3★ ones, and the cost of each method."""
    scorer = Scorer.load(model, device="cpu", threads=threads)
    pools, three_star = read_pools(data, rows, seed)
    mixed = build_mixed(pools, count, seed)
    three_star = random.Random(seed).sample(three_star, min(count, len(three_star)))
    table: dict[str, Any] = {}
    picks: dict[str, list[tuple[int | None, int | None]]] = {}
    for method in METHODS:
        found = score_explained(scorer, [t for t, _, _ in mixed], [True] * len(mixed), max_sentences, method)
        right = sum(1 for (_, e), (_, odd, side) in zip(found, mixed, strict=True)
                    if e is not None and getattr(e, side) == odd)
        real = score_explained(scorer, three_star, [True] * len(three_star), max_sentences, method)
        picks[method] = [(e.down, e.up) if e else (None, None) for _, e in real]
        table[method] = {"mixed_right": right, "mixed": len(mixed),
                         "three_star_highlighted": sum(1 for d, u in picks[method] if d is not None or u is not None),
                         "three_star": len(three_star), "ms_per_review": _cost(scorer, mixed, max_sentences, method)}
    table["agreement_3star_sentences_vs_leave_out"] = sum(
        1 for a, b in zip(picks["sentences"], picks["leave_out"], strict=True) if a == b)
    table["ms_per_review_without_explanations"] = _cost(scorer, mixed, 0, "sentences")
    started = time.perf_counter()
    for text, _, _ in mixed:
        sentence_spans(text)
    table["ms_per_review_splitting"] = (time.perf_counter() - started) / len(mixed) * 1000
    return table


def _cost(scorer: Scorer, mixed: list[tuple[str, int, str]], max_sentences: int, method: Method) -> float:
    texts = [t for t, _, _ in mixed]
    started = time.perf_counter()
    score_explained(scorer, texts, [True] * len(texts), max_sentences, method)
    return (time.perf_counter() - started) / len(texts) * 1000


def format_table(result: dict[str, Any]) -> str:
    lines = ["| method | mixed reviews: odd sentence highlighted | real 3★: any highlight | ms per review |",
             "|---|---|---|---|"]
    for method in METHODS:
        row = result[method]
        lines.append(f"| {method} | {row['mixed_right']}/{row['mixed']} | "
                     f"{row['three_star_highlighted']}/{row['three_star']} | {row['ms_per_review']:.2f} |")
    lines.append(f"| (no explanation) | – | – | {result['ms_per_review_without_explanations']:.2f} |")
    lines.append(f"\nof which splitting into sentences: {result['ms_per_review_splitting']:.2f} ms per review")
    lines.append(f"\n3★: sentences and leave_out pick the same pair in "
                 f"{result['agreement_3star_sentences_vs_leave_out']}/{result['sentences']['three_star']}")
    return "\n".join(lines)

