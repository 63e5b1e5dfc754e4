"""``reviewpulse bench train``: how fast a training recipe runs here, how much arithmetic a row costs, and where
the time goes.

The same steps ``reviewpulse train`` takes (``inference.training.train``'s corpus, batches,
model, optimizer and autocast), timed in three phases per step: building the batch (the
data path), forward and backward, and the optimizer step. FLOPs per row are counted by
torch's own counter on real batches (forward and backward), so "share of the CPU's peak"
is measured work over what the cores could do: cores x clock x FLOPs per cycle, taken
from the CPU's flags (fp32: 64 per cycle with AVX-512 and two FMA units, 32 with AVX2;
bf16 dot products twice fp32's). Four configurations run alternated in the same run, so
their ratios hold even on a busy machine: the recipe as issue 36 found it (``before``:
Adam's per-tensor loops), the recipe as it trains now (fused Adam), the narrow network
(128 filters, learned 16-wide character embeddings; also with its word branch frozen, as
``train --freeze-words`` trains it) and the recipe in plain fp32.
Training on two cores shares them with nothing else: run it alone.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from inference.hardware import autocast_dtype, cpu_has_native_bf16
from inference.model import FILTERS, CharCNN
from inference.training.corpus import Corpus, load_corpus
from inference.training.options import TrainOptions
from inference.training.train import (
    build_network,
    epoch_rows,
    hold_words,
    length_bucketed_batches,
    make_optimizer,
    seed_everything,
)
from reviewpulse.bench.report import Column, ratio, table

#: The shipped model's recipe (docs/model.md): hashed word branch, class-balanced draws, Adam at 5e-4.
RECIPE = {"word_buckets": 262_144, "word_dim": 32, "balance": True, "lr": 5e-4, "batch_size": 128}
#: The v2 corpus' size: what one full pass means in the figures.
CORPUS_ROWS = 329_510


def cpu_peak_gflops(dtype: torch.dtype | None) -> dict[str, Any]:
    """Cores, clock and FLOPs per cycle this CPU claims; its peak in GFLOP/s for ``dtype`` (None: fp32)."""
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        info = ""
    megahertz = [float(line.split(":")[1]) for line in info.splitlines() if line.startswith("cpu MHz")]
    ghz = max(megahertz) / 1000 if megahertz else 0.0
    flops_per_cycle = 64 if "avx512f" in info else 32 if "avx2" in info else 16
    if dtype is torch.bfloat16 and cpu_has_native_bf16():
        flops_per_cycle *= 2
    cores = len(os.sched_getaffinity(0))
    return {"cores": cores, "ghz": round(ghz, 2), "flops_per_cycle": flops_per_cycle,
            "peak_gflops": round(cores * ghz * flops_per_cycle, 1)}


def _step(model: CharCNN, optimizer: torch.optim.Optimizer, corpus: Corpus, batch: np.ndarray,
          dtype: torch.dtype | None, phases: dict[str, float]) -> None:
    """One training step as ``inference.training.train._step`` takes it, with its three phases timed."""
    started = time.perf_counter()
    indices, lengths, words = corpus.batch(batch)
    labels = torch.from_numpy(corpus.labels[batch])
    built = time.perf_counter()
    with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        logits = model(indices, lengths, words)
    loss = F.cross_entropy(logits.float(), labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    computed = time.perf_counter()
    optimizer.step()
    done = time.perf_counter()
    phases["data"] += built - started
    phases["forward_backward"] += computed - built
    phases["optimizer"] += done - computed


def flops_per_row(model: CharCNN, corpus: Corpus, batches: list[np.ndarray], dtype: torch.dtype | None) -> float:
    """Forward and backward FLOPs per row on real batches, by torch's counter (the optimizer's are not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    rows = 0
    with counter:
        for batch in batches:
            indices, lengths, words = corpus.batch(batch)
            with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
                logits = model(indices, lengths, words)
            F.cross_entropy(logits.float(), torch.from_numpy(corpus.labels[batch])).backward()
            rows += len(batch)
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() / max(rows, 1)


@dataclass(frozen=True)
class Configuration:
    """One way of training timed by the bench: the network's width, autocast on or off, Adam fused or not."""

    name: str
    autocast: bool = True
    filters: int = FILTERS
    char_dim: int = 0
    fused_adam: bool = True
    freeze_words: bool = False


#: What the bench compares, alternated in one run. ``before``: the recipe as issue 36 found it (Adam's per-tensor
#: loops); ``narrow``: the cheaper network the issue trained (inference/model.py, docs/model.md), also with the
#: word branch frozen (``train --freeze-words``).
CONFIGURATIONS = (
    Configuration("before", fused_adam=False),
    Configuration("recipe"),
    Configuration("narrow", filters=128, char_dim=16),
    Configuration("narrow_frozen_words", filters=128, char_dim=16, freeze_words=True),
    Configuration("fp32", autocast=False),
)


def _model_and_optimizer(recipe: TrainOptions, corpus: Corpus, configuration: Configuration, seed: int
                         ) -> tuple[CharCNN, torch.optim.Optimizer]:
    """The network and optimizer ``reviewpulse train`` would build for the recipe in this configuration."""
    options = replace(recipe, filters=configuration.filters, char_dim=configuration.char_dim,
                      freeze_words=configuration.freeze_words)
    seed_everything(seed)
    model = build_network(options, corpus)
    model.train()
    hold_words(model, options, state={})
    if configuration.fused_adam:
        return model, make_optimizer(model, options)
    return model, torch.optim.Adam(model.parameters(), lr=options.lr)


def run_train_bench(data: Path, rows: int = 3000, steps: int = 20, repeats: int = 3, seed: int = 7,
                    threads: int = 0, options: dict[str, Any] | None = None, progress: bool = True) -> dict[str, Any]:
    """Rows/s of each of :data:`CONFIGURATIONS` on ``rows`` rows of ``data``; see the module doc."""
    if threads:
        torch.set_num_threads(threads)
    recipe = TrainOptions(data=str(data), max_rows=rows, validation_split=0.0, calibrate=False, gate_precision=False,
                          seed=seed, **{**RECIPE, **(options or {})})
    started = time.perf_counter()
    corpus = load_corpus(recipe)
    data_seconds = time.perf_counter() - started
    autocast = autocast_dtype("cpu", recipe.precision)
    models = {c.name: (*_model_and_optimizer(recipe, corpus, c, seed), autocast if c.autocast else None)
              for c in CONFIGURATIONS}
    rng = np.random.default_rng(seed)
    batches = length_bucketed_batches(corpus.lengths, corpus.train_rows[epoch_rows(
        corpus.labels[corpus.train_rows], recipe.balance, rng, steps * recipe.batch_size)], recipe.batch_size, rng)
    batches = batches[:steps]
    phases = {name: {"data": 0.0, "forward_backward": 0.0, "optimizer": 0.0} for name in models}
    timings: dict[str, list[float]] = {name: [] for name in models}
    for model, optimizer, dtype in models.values():  # warm-up: kernels chosen, buffers allocated
        for batch in batches[:2]:
            _step(model, optimizer, corpus, batch, dtype, {"data": 0.0, "forward_backward": 0.0, "optimizer": 0.0})
    for repeat in range(repeats):
        for name, (model, optimizer, dtype) in models.items():  # alternated, so all see the same machine
            began = time.perf_counter()
            for batch in batches:
                _step(model, optimizer, corpus, batch, dtype, phases[name])
            timings[name].append(time.perf_counter() - began)
            if progress:
                print(f"repeat {repeat + 1}/{repeats} {name}: {timings[name][-1]:.1f} s", flush=True)
    timed_rows = sum(len(batch) for batch in batches)
    results: dict[str, dict[str, Any]] = {}
    for name, (model, _, dtype) in models.items():
        seconds = statistics.median(timings[name])
        per_row = flops_per_row(model, corpus, batches[:3], dtype)
        peak = cpu_peak_gflops(dtype)
        achieved = per_row * timed_rows / seconds / 1e9
        total = sum(phases[name].values()) or 1.0
        results[name] = {
            "autocast": str(dtype).replace("torch.", "") if dtype else "off",
            "rows_per_s": round(timed_rows / seconds, 1),
            "full_pass_minutes": round(CORPUS_ROWS / (timed_rows / seconds) / 60, 1),
            "gflops_per_row": round(per_row / 1e9, 3), "achieved_gflops": round(achieved, 1),
            "share_of_peak": round(achieved / peak["peak_gflops"], 4) if peak["peak_gflops"] else None,
            "phases": {phase: round(value / total, 3) for phase, value in phases[name].items()},
            "parameters": sum(p.numel() for p in model.parameters()),
            **peak,
        }
    speed = {name: figures["rows_per_s"] for name, figures in results.items()}
    return {
        "data": str(data), "rows": len(corpus.train_rows), "steps": len(batches), "timed_rows": timed_rows,
        "repeats": repeats, "threads": torch.get_num_threads(),
        "recipe": {key: getattr(recipe, key) for key in (*RECIPE, "precision", "max_length")},
        "encode_and_hash_us_per_row": round(data_seconds / max(len(corpus.reviews.texts), 1) * 1e6, 1),
        "configurations": results,
        "recipe_vs_fp32": ratio(speed["recipe"], speed["fp32"], 3),
        "recipe_vs_before": ratio(speed["recipe"], speed["before"], 3),
        "narrow_vs_before": ratio(speed["narrow"], speed["before"], 3),
        "narrow_frozen_words_vs_before": ratio(speed["narrow_frozen_words"], speed["before"], 3),
    }


COLUMNS = (Column("name", "configuration"), Column("autocast", "autocast"), Column("rows_per_s", "rows/s", ",.0f"),
           Column("full_pass_minutes", "min per pass", ",.0f"), Column("gflops_per_row", "GFLOP/row", ".2f"),
           Column("achieved_gflops", "GFLOP/s", ",.0f"), Column("share_of_peak", "of peak", ".1%"),
           Column("split", "data / fwd+bwd / optimizer"))


def format_table(result: dict[str, Any]) -> str:
    rows = [{**figures, "name": name, "share_of_peak": figures["share_of_peak"] or 0.0,
             "split": " / ".join(f"{figures['phases'][phase]:.0%}" for phase in ("data", "forward_backward", "optimizer"))}
            for name, figures in result["configurations"].items()]
    return (table(COLUMNS, rows) + f"\n{result['timed_rows']} rows x {result['repeats']} repeats, "
            f"{result['threads']} threads; recipe / fp32: {result['recipe_vs_fp32']:.2f}x; recipe / before: "
            f"{result['recipe_vs_before']:.2f}x; narrow / before: {result['narrow_vs_before']:.2f}x; narrow with "
            f"frozen words / before: {result['narrow_frozen_words_vs_before']:.2f}x; "
            f"encoding and hashing: {result['encode_and_hash_us_per_row']} µs per row")
