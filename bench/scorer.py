"""``reviewpulse bench scorer``: what ``score(texts)`` gives on your texts, next to the original per-request path.

Every figure is measured in the same run on the same texts: the user's file
(``--data``, a seeded sample; the training CSV gives real lengths), else generated
ones. Configurations are measured round-robin, one full
pass over their texts per repeat, and the median repeat is reported, so ratios
hold on a noisy shared machine even when absolute numbers move. The slow paths
(the per-request baseline and bf16, which most CPUs only emulate) run on a
seeded subset of the same sample; their rates are per review, so they compare.
"""

from __future__ import annotations

import copy
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bench.report import Column, ratio, table
from bench.texts import sample_texts, texts_source
from inference.hardware import bf16_is_native
from inference.scorer import Scorer

WORKER_BATCH = 64
COLUMNS = (Column("config", "configuration"), Column("precision", "precision"), Column("texts", "texts"),
           Column("reviews_per_s", "reviews/s", ".1f"), Column("ratio", "x per-request", ".2f"))


def per_request_indices(text: str, scorer: Scorer) -> np.ndarray:
    """The original app's preprocessing: a Python loop over characters (0 = not in the alphabet)."""
    alphabet = scorer.alphabet.characters
    length = scorer.card.max_length
    indices = np.zeros((1, length), dtype=np.int64)
    for position, char in enumerate(text.lower()[:length][::-1]):
        indices[0, position] = alphabet.find(char) + 1
    return indices


def per_request(scorer: Scorer, texts: list[str]) -> None:
    """The original app: one text at a time, Python encoding, the paper's full-width one-hot forward."""
    for text in texts:
        scorer.reference_probabilities(per_request_indices(text, scorer), [text])


def in_batches(scorer: Scorer, texts: list[str], batch: int = WORKER_BATCH) -> None:
    """``score()`` on consecutive batches in arrival order, as the stream worker calls it."""
    for start in range(0, len(texts), batch):
        scorer.score(texts[start : start + batch])


def _at(scorer: Scorer, precision: str) -> Scorer:
    variant = copy.copy(scorer)
    variant.precision = precision
    return variant


def _configurations(scorer: Scorer, texts: list[str], subset: list[str]) -> list[tuple[str, str, list[str], Callable[..., Any]]]:
    fp32, bf16 = _at(scorer, "fp32"), _at(scorer, "bf16")
    return [
        ("per-request: Python one-hot, paper forward (original app)", "fp32", subset, lambda t: per_request(fp32, t)),
        ("score(texts), default path", "fp32", texts, fp32.score),
        ("score(texts), default path", "fp32", subset, fp32.score),
        ("score(texts), default path", "bf16", subset, bf16.score),
        (f"score() per arriving batch of {WORKER_BATCH} (a quiet stream; a backlog is taken in 512s)", "fp32", texts, lambda t: in_batches(fp32, t)),
    ]


def run_scorer_bench(
    model_dir: str | Path, data: str | Path | None = None, text_column: str = "text", sample: int = 3000,
    subset: int = 300, repeats: int = 3, seed: int = 7, threads: int = 0, progress: bool = True,
) -> dict[str, Any]:
    """Measure every configuration ``repeats`` times (round-robin); returns a JSON-ready dict."""
    scorer = Scorer.load(model_dir, device="cpu", threads=threads, precision="fp32")
    texts = sample_texts(sample, seed, data, text_column)
    small = random.Random(seed + 1).sample(texts, min(subset, len(texts)))
    configurations = _configurations(scorer, texts, small)
    for _, _, _, run in configurations:
        run(small[:8])  # warm-up
    timings: list[list[float]] = [[] for _ in configurations]
    for repeat in range(repeats):
        for index, (name, precision, pool, run) in enumerate(configurations):
            started = time.perf_counter()
            run(pool)
            timings[index].append(len(pool) / (time.perf_counter() - started))
            if progress:
                print(f"  [{repeat + 1}/{repeats}] {name} ({precision}, {len(pool)} texts): "
                      f"{timings[index][-1]:.1f} reviews/s", flush=True)
    baseline = statistics.median(timings[0])
    rows = [
        {"config": name, "precision": precision, "texts": len(pool),
         "reviews_per_s": round(statistics.median(rates), 1), "ratio": ratio(statistics.median(rates), baseline)}
        for (name, precision, pool, _), rates in zip(configurations, timings, strict=True)
    ]
    return {
        "model_version": scorer.version,
        "threads": torch.get_num_threads(),
        "bf16_native": bf16_is_native("cpu"),
        "data": texts_source(data),
        "texts": len(texts),
        "subset": len(small),
        "repeats": repeats,
        "median_chars": int(np.median([len(t) for t in texts])),
        "longer_than_max_length": round(float(np.mean([len(t) > scorer.card.max_length for t in texts])), 4),
        "baseline_reviews_per_s": rows[0]["reviews_per_s"],
        "reviews_per_s": rows[1]["reviews_per_s"],
        "speedup": rows[1]["ratio"],
        **_agreement(scorer, small),
        "rows": rows,
    }


def _agreement(scorer: Scorer, texts: list[str]) -> dict[str, Any]:
    """Default-path fp32 vs the paper's forward, and bf16 vs fp32, on the subset."""
    check = texts[:256]
    indices, _ = scorer.alphabet.encode_batch(check, scorer.card.max_length)
    reference = scorer.reference_probabilities(indices, check)
    fp32 = scorer.probabilities(texts)
    bf16 = _at(scorer, "bf16").probabilities(texts)
    return {
        "max_abs_prob_diff_default_vs_reference": float(np.abs(fp32[: len(check)] - reference).max()),
        "max_abs_prob_diff_bf16": float(np.abs(bf16 - fp32).max()),
        "bf16_label_agreement": round(float((bf16.argmax(1) == fp32.argmax(1)).mean()), 4),
    }


def format_table(result: dict[str, Any]) -> str:
    """The ratio table people read, with the sample and the agreement checks around it."""
    return "\n".join([
        f"scorer benchmark: model {result['model_version']}, {result['threads']} threads, bf16 native: "
        f"{result['bf16_native']}; {result['texts']} texts from {result['data']} (median {result['median_chars']} "
        f"chars, {result['longer_than_max_length']:.1%} longer than max length), slow paths on {result['subset']}; "
        f"median of {result['repeats']}",
        table(COLUMNS, result["rows"]),
        f"  score(texts) = {result['speedup']}x the per-request path on the same texts",
        f"  max |p - p_paper_forward| default path {result['max_abs_prob_diff_default_vs_reference']:.1e}; "
        f"bf16 vs fp32: max |dp| {result['max_abs_prob_diff_bf16']:.1e}, "
        f"labels agree {result['bf16_label_agreement']:.2%}",
    ])
