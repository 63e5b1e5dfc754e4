"""``reviewpulse bench scorer``: what ``score(texts)`` gives on your texts, next to the original per-request path.

Every figure is measured in the same run on the same texts: the user's file
(``--data``, a seeded sample), else real reviews from the training file when it
is here, else generated ones. Configurations are measured round-robin, one full
pass over their texts per repeat, and the median repeat is reported, so ratios
hold on a noisy shared machine even when absolute numbers move. The slow paths
(the per-request baseline and bf16, which most CPUs only emulate) run on a
seeded subset of the same sample; their rates are per review, so they compare.
"""

from __future__ import annotations

import copy
import csv
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from inference.hardware import bf16_is_native
from inference.scorer import Scorer
from reviewpulse.settings import PROJECT_ROOT

SAMPLE_DATA = PROJECT_ROOT.parent / "shared" / "data" / "reviews_train.csv"
WORKER_BATCH = 64
WORDS = "the food was great terrible service slow friendly staff would come back never again price ok".split()


class BenchDataError(ValueError):
    """The ``--data`` file cannot give texts; the message names the file and column."""


def sample_texts(
    count: int = 3000, seed: int = 7, data: str | Path | None = None, text_column: str = "text"
) -> list[str]:
    """A seeded sample of ``count`` texts from ``data`` (or the training file, or generated ones)."""
    rng = random.Random(seed)
    path = Path(data) if data else (SAMPLE_DATA if SAMPLE_DATA.is_file() else None)
    if path is None:
        return [" ".join(rng.choices(WORDS, k=rng.randint(5, 80))) for _ in range(count)]
    if not path.is_file():
        raise BenchDataError(f"{path}: no such file")
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if text_column not in (reader.fieldnames or []):
            raise BenchDataError(
                f"{path}: no column {text_column!r} (columns: {', '.join(reader.fieldnames or [])}); "
                "pass --text-column"
            )
        texts = [row[text_column] or "" for row in reader]
    if not texts:
        raise BenchDataError(f"{path}: no rows")
    return rng.sample(texts, min(count, len(texts)))


def per_request_one_hot(text: str, scorer: Scorer) -> torch.Tensor:
    """The original app's preprocessing: a Python loop over characters into a one-hot matrix."""
    alphabet = scorer.alphabet.characters
    length = scorer.card.max_length
    matrix = np.zeros((len(alphabet), length), dtype=np.float32)
    for position, char in enumerate(text.lower()[:length][::-1]):
        index = alphabet.find(char)
        if index >= 0:
            matrix[index, position] = 1.0
    return torch.from_numpy(matrix).unsqueeze(0)


def per_request(scorer: Scorer, texts: list[str]) -> None:
    """The original app: one text at a time, Python one-hot, the paper's full-width forward."""
    model = scorer.model
    with torch.inference_mode():
        for text in texts:
            logits = model._classify(
                model._conv_stack_from(model.convs[0](per_request_one_hot(text, scorer))), scorer._word_bags([text])
            )
            if scorer.class_bias is not None:
                logits = logits + scorer.class_bias
            F.softmax(logits, dim=1)


def in_batches(scorer: Scorer, texts: list[str], batch: int = WORKER_BATCH) -> None:
    """``score()`` on consecutive batches in arrival order, as the stream worker calls it."""
    for start in range(0, len(texts), batch):
        scorer.score(texts[start : start + batch])


def _at(scorer: Scorer, precision: str) -> Scorer:
    variant = copy.copy(scorer)
    variant.precision = precision
    return variant


def _configurations(scorer: Scorer, texts: list[str], subset: list[str]) -> list[tuple[str, str, list[str], Callable]]:
    fp32, bf16 = _at(scorer, "fp32"), _at(scorer, "bf16")
    return [
        ("per-request: Python one-hot, paper forward (original app)", "fp32", subset, lambda t: per_request(fp32, t)),
        ("score(texts), default path", "fp32", texts, fp32.score),
        ("score(texts), default path", "fp32", subset, fp32.score),
        ("score(texts), default path", "bf16", subset, bf16.score),
        (f"score() per arriving batch of {WORKER_BATCH} (the worker)", "fp32", texts, lambda t: in_batches(fp32, t)),
    ]


def run_scorer_bench(
    model_dir: str | Path, data: str | Path | None = None, text_column: str = "text", sample: int = 3000,
    subset: int = 300, repeats: int = 3, seed: int = 7, threads: int = 0, progress: bool = True,
) -> dict:
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
         "reviews_per_s": round(statistics.median(rates), 1), "ratio": round(statistics.median(rates) / baseline, 2)}
        for (name, precision, pool, _), rates in zip(configurations, timings, strict=True)
    ]
    return {
        "model_version": scorer.version,
        "threads": torch.get_num_threads(),
        "bf16_native": bf16_is_native("cpu"),
        "data": str(data or (SAMPLE_DATA if SAMPLE_DATA.is_file() else "generated")),
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


def _agreement(scorer: Scorer, texts: list[str]) -> dict:
    """Default-path fp32 vs the paper's forward, and bf16 vs fp32, on the subset."""
    check = texts[:256]
    indices, _ = scorer.alphabet.encode_batch(check, scorer.card.max_length)
    with torch.inference_mode():
        logits = scorer.model.forward_reference(torch.from_numpy(indices), scorer._word_bags(check))
        if scorer.class_bias is not None:
            logits = logits + scorer.class_bias
        reference = F.softmax(logits, dim=1).numpy()
    fp32 = scorer.probabilities(texts)
    bf16 = _at(scorer, "bf16").probabilities(texts)
    return {
        "max_abs_prob_diff_default_vs_reference": float(np.abs(fp32[: len(check)] - reference).max()),
        "max_abs_prob_diff_bf16": float(np.abs(bf16 - fp32).max()),
        "bf16_label_agreement": round(float((bf16.argmax(1) == fp32.argmax(1)).mean()), 4),
    }


def format_table(result: dict) -> str:
    lines = [
        f"scorer benchmark: model {result['model_version']}, {result['threads']} threads, bf16 native: "
        f"{result['bf16_native']}; {result['texts']} texts from {result['data']} (median {result['median_chars']} "
        f"chars, {result['longer_than_max_length']:.1%} longer than max length), slow paths on {result['subset']}; "
        f"median of {result['repeats']}",
        f"  {'configuration':<58}{'precision':>10}{'texts':>7}{'reviews/s':>11}{'x per-request':>15}",
    ]
    for row in result["rows"]:
        lines.append(f"  {row['config']:<58}{row['precision']:>10}{row['texts']:>7}"
                     f"{row['reviews_per_s']:>11.1f}{row['ratio']:>15.2f}")
    lines.append(f"  score(texts) = {result['speedup']}x the per-request path on the same texts")
    lines.append(
        f"  max |p - p_paper_forward| default path {result['max_abs_prob_diff_default_vs_reference']:.1e}; "
        f"bf16 vs fp32: max |dp| {result['max_abs_prob_diff_bf16']:.1e}, "
        f"labels agree {result['bf16_label_agreement']:.2%}"
    )
    return "\n".join(lines)
