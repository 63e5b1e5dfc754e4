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

import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from inference.hardware import bf16_is_native
from inference.precision import int8_available, resolve_precision
from inference.scorer import Scorer
from reviewpulse.bench.report import Column, ratio, table
from reviewpulse.bench.texts import sample_texts, texts_source

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


def _configurations(scorer: Scorer, texts: list[str], subset: list[str]) -> list[tuple[str, str, list[str], Callable[..., Any]]]:
    """Per-request first (the baseline); then each precision this model can use here on every text."""
    precisions = ["fp32"] + (["int8"] if int8_available(scorer.card, "cpu") else [])
    variants = {name: scorer.at_precision(name) for name in (*precisions, "bf16")}
    fp32 = variants["fp32"]
    return [
        ("per-request: Python one-hot, paper forward (original app)", "fp32", subset, lambda t: per_request(fp32, t)),
        *[("score(texts), default path", name, texts, variants[name].score) for name in precisions],
        ("score(texts), default path", "fp32", subset, fp32.score),
        ("score(texts), default path", "bf16", subset, variants["bf16"].score),
        *[(f"score() per arriving batch of {WORKER_BATCH} (a quiet stream; a backlog is taken in 512s)", name, texts,
           lambda t, v=variants[name]: in_batches(v, t)) for name in precisions],
    ]


def run_scorer_bench(
    model_dir: str | Path, data: str | Path | None = None, text_column: str = "text", sample: int = 3000,
    subset: int = 300, repeats: int = 3, seed: int = 7, threads: int = 0, progress: bool = True,
    against: str | Path | None = None,
) -> dict[str, Any]:
    """Measure every configuration ``repeats`` times (round-robin); returns a JSON-ready dict.

    ``against``: another model directory; both models are loaded as a worker loads them and
    timed in the same rounds on the same texts (``against_ratio`` = this one's rate over that one's).
    """
    scorer = Scorer.load(model_dir, device="cpu", threads=threads, precision="fp32")
    texts = sample_texts(sample, seed, data, text_column)
    small = random.Random(seed + 1).sample(texts, min(subset, len(texts)))
    configurations = _configurations(scorer, texts, small)
    # both loaded as a worker loads them, alternated in the same rounds
    served = [] if against is None else [Scorer.load(path, device="cpu", threads=threads, precision="auto")
                                         for path in (model_dir, against)]
    configurations += [(f"score(texts) as served, {each.version}", each.precision, texts, each.score)
                       for each in served]
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
    # what Scorer.load(dir) resolves to here (SCORER_PRECISION=auto): the figure a library user gets
    auto = resolve_precision("auto", scorer.card, "cpu")
    default = next((row for row in rows[1:] if row["precision"] == auto), rows[1])
    versus = {}
    if served:
        mine, theirs = (round(statistics.median(rates), 1) for rates in timings[-2:])
        versus = {"against": served[1].version, "served_reviews_per_s": mine, "against_reviews_per_s": theirs,
                  "against_ratio": ratio(mine, theirs)}
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
        "default_precision": default["precision"],
        "reviews_per_s": default["reviews_per_s"],
        "speedup": default["ratio"],
        **versus,
        **_agreement(scorer, small),
        "rows": rows,
    }


def _agreement(scorer: Scorer, texts: list[str]) -> dict[str, Any]:
    """Default-path fp32 vs the paper's forward, and bf16 and int8 (where available) vs fp32, on the subset."""
    check = texts[:256]
    indices, _ = scorer.alphabet.encode_batch(check, scorer.card.max_length)
    reference = scorer.reference_probabilities(indices, check)
    fp32 = scorer.probabilities(texts)
    agreement = {"max_abs_prob_diff_default_vs_reference": float(np.abs(fp32[: len(check)] - reference).max())}
    for name in ("bf16", "int8"):
        if name == "int8" and not int8_available(scorer.card, "cpu"):
            continue
        lower = scorer.at_precision(name).probabilities(texts)
        agreement[f"max_abs_prob_diff_{name}"] = float(np.abs(lower - fp32).max())
        agreement[f"{name}_label_agreement"] = round(float((lower.argmax(1) == fp32.argmax(1)).mean()), 4)
    return agreement


def format_table(result: dict[str, Any]) -> str:
    """The ratio table people read, with the sample and the agreement checks around it."""
    return "\n".join([
        f"scorer benchmark: model {result['model_version']}, {result['threads']} threads, bf16 native: "
        f"{result['bf16_native']}; {result['texts']} texts from {result['data']} (median {result['median_chars']} "
        f"chars, {result['longer_than_max_length']:.1%} longer than max length), slow paths on {result['subset']}; "
        f"median of {result['repeats']}",
        table(COLUMNS, result["rows"]),
        f"  score(texts) with SCORER_PRECISION=auto ({result['default_precision']} here) = {result['speedup']}x "
        f"the per-request path on the same texts",
        f"  max |p - p_paper_forward| fp32 default path {result['max_abs_prob_diff_default_vs_reference']:.1e}",
        *[f"  {name} vs fp32: max |dp| {result[f'max_abs_prob_diff_{name}']:.1e}, "
          f"labels agree {result[f'{name}_label_agreement']:.2%}"
          for name in ("bf16", "int8") if f"{name}_label_agreement" in result],
        *([f"  score(texts) = {result['against_ratio']}x {result['against']}'s on the same texts"]
          if "against" in result else []),
    ])
