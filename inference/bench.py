"""``reviewpulse bench scorer``: batched, exact-rewrite scoring vs the original per-request path.

Every figure is measured in the same run on the same texts (real reviews from the
training file when it is present, else generated ones), so the ratios hold on a
noisy shared machine even when absolute numbers move.
"""

from __future__ import annotations

import csv
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from inference.scorer import Scorer
from reviewpulse.settings import PROJECT_ROOT

SAMPLE_DATA = PROJECT_ROOT.parent / "shared" / "data" / "reviews_train.csv"
BATCH_SIZES = (1, 8, 32, 128)
WORDS = "the food was great terrible service slow friendly staff would come back never again price ok".split()


def sample_texts(count: int = 2048, seed: int = 7) -> list[str]:
    """Real review texts when the training file is here, else generated ones of similar length."""
    rng = random.Random(seed)
    if SAMPLE_DATA.is_file():
        with SAMPLE_DATA.open(encoding="utf-8", newline="") as handle:
            texts = [row["text"] for row in csv.DictReader(handle)]
        return rng.sample(texts, min(count, len(texts)))
    return [" ".join(rng.choices(WORDS, k=rng.randint(5, 80))) for _ in range(count)]


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


def _throughput(run_batch: Callable[[list[str]], object], texts: list[str], batch: int, seconds: float) -> float:
    """Reviews/s over as many batches as fit in ``seconds`` (at least two, after one warm-up)."""
    run_batch(texts[:batch])
    done, position, started = 0, 0, time.perf_counter()
    while done < 2 * batch or time.perf_counter() - started < seconds:
        chunk = texts[position : position + batch]
        if len(chunk) < batch:
            position, chunk = 0, texts[:batch]
        run_batch(chunk)
        done += len(chunk)
        position += batch
    return done / (time.perf_counter() - started)


def run_scorer_bench(model_dir: str | Path, seconds: float = 3.0, progress: bool = True) -> dict:
    """Measure every configuration; returns a JSON-ready dict (``reviews_per_s`` = best batched)."""
    scorer = Scorer.load(model_dir, device="cpu")
    model = scorer.model
    texts = sample_texts()

    def baseline(chunk: list[str]) -> None:
        with torch.inference_mode():
            for text in chunk:
                logits = model._classify(model._conv_stack_from(model.convs[0](per_request_one_hot(text, scorer))))
                F.softmax(logits, dim=1)

    def reference_batched(chunk: list[str]) -> None:
        indices, _ = scorer.alphabet.encode_batch(chunk, scorer.card.max_length)
        with torch.inference_mode():
            F.softmax(model.forward_reference(torch.from_numpy(indices)), dim=1)

    def bf16(chunk: list[str]) -> np.ndarray:
        indices, lengths = scorer.alphabet.encode_batch(chunk, scorer.card.max_length)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            return F.softmax(model(torch.from_numpy(indices), torch.from_numpy(lengths)).float(), dim=1).numpy()

    rows: list[dict] = []

    def measure(name: str, fn: Callable[[list[str]], object], batch: int, pool: list[str] = texts) -> None:
        rate = _throughput(fn, pool, batch, seconds)
        rows.append({"config": name, "batch": batch, "reviews_per_s": round(rate, 1)})
        if progress:
            print(f"  {name:<34} batch {batch:>4}: {rate:8.1f} reviews/s", flush=True)

    measure("per-request (python one-hot)", baseline, 1)
    measure("batched reference (full width)", reference_batched, 128)
    for batch in BATCH_SIZES:
        measure("batched exact (gather + tail)", scorer.probabilities, batch)
    measure("exact, 4 length buckets per batch", lambda chunk: scorer.probabilities(chunk, passes=4), 128)
    measure("exact, length-sorted stream", scorer.probabilities, 128, sorted(texts, key=len))
    measure("bf16 autocast (gather + tail)", bf16, 128)

    check = texts[:256]
    reference = np.concatenate([_reference_probs(scorer, check[i : i + 32]) for i in range(0, len(check), 32)])
    exact_diff = float(np.abs(scorer.probabilities(check) - reference).max())
    bf16_diff = float(np.abs(bf16(check) - reference).max())
    baseline_rate = rows[0]["reviews_per_s"]
    best = max((r for r in rows if r["config"].startswith(("batched exact", "exact"))), key=lambda r: r["reviews_per_s"])
    for row in rows:
        row["ratio"] = round(row["reviews_per_s"] / baseline_rate, 2)
    return {
        "model_version": scorer.version,
        "threads": torch.get_num_threads(),
        "texts": len(texts),
        "median_chars": int(np.median([len(t) for t in texts])),
        "baseline_reviews_per_s": baseline_rate,
        "reviews_per_s": best["reviews_per_s"],
        "best_config": f"{best['config']}, batch {best['batch']}",
        "speedup": round(best["reviews_per_s"] / baseline_rate, 2),
        "max_abs_prob_diff_exact": exact_diff,
        "max_abs_prob_diff_bf16": bf16_diff,
        "rows": rows,
    }


def _reference_probs(scorer: Scorer, texts: list[str]) -> np.ndarray:
    indices, _ = scorer.alphabet.encode_batch(texts, scorer.card.max_length)
    with torch.inference_mode():
        return F.softmax(scorer.model.forward_reference(torch.from_numpy(indices)), dim=1).numpy()


def format_table(result: dict) -> str:
    lines = [
        f"scorer benchmark: model {result['model_version']}, {result['threads']} threads, "
        f"{result['texts']} real-length texts (median {result['median_chars']} chars)",
        f"  {'configuration':<34}{'batch':>6}{'reviews/s':>12}{'x baseline':>12}",
    ]
    for row in result["rows"]:
        lines.append(f"  {row['config']:<34}{row['batch']:>6}{row['reviews_per_s']:>12.1f}{row['ratio']:>12.2f}")
    lines.append(f"  best: {result['best_config']} = {result['speedup']}x the per-request baseline")
    lines.append(
        f"  max |p - p_fp32_reference|: exact path {result['max_abs_prob_diff_exact']:.2e}, "
        f"bf16 {result['max_abs_prob_diff_bf16']:.2e}"
    )
    return "\n".join(lines)
