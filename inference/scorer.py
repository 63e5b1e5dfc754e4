"""The batched scorer the stream worker calls: texts in, sentiment out.

Thread-safety: ``score`` only reads the model, so one ``Scorer`` may serve a thread
pool. On a CPU with several cores, a call of several passes runs them side by side on
single-threaded lanes (``inference.lanes``); a call of one pass (a draft, a small
batch) runs in the caller's thread, which torch parallelises across cores itself.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from inference.artefact import ModelCard, load_artefact
from inference.encoding import Alphabet
from inference.lanes import Lanes, shared_lanes
from inference.model import CharCNN, UpperConvs, WordBags
from inference.precision import int8_scales, resolve_precision
from inference.slices import (
    MAX_CELLS,
    PASS_OVERHEAD_CELLS,
    input_columns,
    needed_features,
    padded_rows,
    plan_passes,
    unique_texts,
)
from inference.verdicts import Sentiment, verdicts
from inference.words import ngram_bags


class Scorer:
    """A loaded char-CNN ready to score batches of review texts."""

    #: Most rows x input columns per forward pass (bounds activation memory; see inference/slices.py).
    max_cells = MAX_CELLS
    #: Fixed cost of one pass in rows x columns: higher merges more lengths into fewer passes.
    pass_overhead_cells = PASS_OVERHEAD_CELLS

    def __init__(
        self, model: CharCNN, card: ModelCard, alphabet: Alphabet, device: str = "cpu", precision: str = "fp32",
        lanes: int = 1,
    ) -> None:
        self.model = model
        self.card = card
        self.alphabet = alphabet
        self.device = device
        self.model.freeze_tail()
        #: "fp32", "bf16" (autocast) or "int8" (convs 2..6), resolved from the requested one by :func:`resolve_precision`.
        self.precision = resolve_precision(precision, card, device)
        #: What runs convs 2..6 (None: the model's fp32 layers); set with the precision.
        self.upper_convs: UpperConvs | None = self._upper_for(self.precision, int8_scales(card))
        bias = card.calibration.get("class_bias")
        self.class_bias = torch.tensor(bias, dtype=torch.float32, device=device) if bias else None
        #: Where a call's passes run side by side (CPU, ``lanes`` > 1); None: one after another.
        self.lanes: Lanes | None = shared_lanes(lanes) if device == "cpu" and lanes > 1 else None

    @classmethod
    def load(
        cls, directory: str | Path, device: str | None = None, threads: int = 0, precision: str | None = None
    ) -> Scorer:
        """Load an artefact directory; CUDA when present unless ``device`` says otherwise.

        ``precision``: ``auto`` (the fastest precision whose gate passed in the model
        card and that the hardware runs natively, else fp32), ``fp32``, ``bf16`` or ``int8``; None
        reads the ``SCORER_PRECISION`` setting (default ``auto``). ``threads``: the cores
        to use (0: torch's default, all of them); on a CPU, that many lanes.
        """
        if threads > 0:
            torch.set_num_threads(threads)
        if precision is None:
            from kernel.settings import get_settings

            precision = get_settings().scorer_precision
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model, card, alphabet = load_artefact(directory, device)
        return cls(model, card, alphabet, device, precision, lanes=torch.get_num_threads())

    def _upper_for(self, precision: str, scales: Sequence[float] | None) -> UpperConvs | None:
        if precision != "int8":
            return None
        from inference.quantized import Int8Convs

        if not scales:
            raise ValueError("int8 needs activation scales: model.json records none (precision.int8.scales)")
        return Int8Convs(self.model, scales)

    def at_precision(self, precision: str, scales: Sequence[float] | None = None) -> Scorer:
        """A copy sharing this model that scores in ``precision`` (int8: ``scales``, else model.json's).

        For comparing precisions on one loaded model (the gate, ``bench scorer``): no
        check that the gate passed, as an explicit ``SCORER_PRECISION`` is not checked either.
        """
        variant = copy.copy(self)
        variant.precision = precision
        variant.upper_convs = self._upper_for(precision, scales or int8_scales(self.card))
        return variant

    @property
    def version(self) -> str:
        return self.card.version

    @property
    def classes(self) -> list[str]:
        return self.card.classes

    def probabilities(self, texts: Sequence[str], passes: int | None = None) -> np.ndarray:
        """``(len(texts), classes)`` probabilities, rows in the order of ``texts``.

        Fast for any number of texts: duplicates are scored once, and the rest run in
        length-sorted passes of bounded size (see :mod:`inference.slices`), each
        encoded only when it runs (on the lanes, if any: one pass per lane at a time),
        so memory does not grow with the list beyond the result itself. ``passes`` is
        accepted for older callers and ignored: the length-sorted plan replaced it.
        Raises ``TypeError`` for a str or a non-str item.
        """
        unique, inverse = unique_texts(texts)
        result = np.zeros((len(unique), len(self.classes)), dtype=np.float32)
        max_length = self.card.max_length
        lengths = np.fromiter((min(len(text), max_length) for text in unique), dtype=np.int64, count=len(unique))
        plan = list(plan_passes(lengths, self.model.features, max_length, self.max_cells, self.pass_overhead_cells))

        def run(rows: np.ndarray) -> None:
            result[rows] = self._pass([unique[i] for i in rows])

        if self.lanes is None or len(plan) < 2:
            for rows in plan:
                run(rows)
        else:
            self.lanes.map(run, plan)
        return result[inverse]

    def _pass(self, texts: list[str]) -> np.ndarray:
        """One pass under inference mode and the precision (both per thread, so entered here)."""
        with torch.inference_mode(), self._precision_context():
            return self._forward(texts)

    def _forward(self, texts: list[str]) -> np.ndarray:
        """One pass: encode (cut before lower-casing, so a 10 MB text costs no more), run, softmax."""
        max_length = self.card.max_length
        rows = len(texts)
        texts = texts + [""] * (padded_rows(rows) - rows)
        encoded = [self.alphabet.encode(text[:max_length], max_length) for text in texts]
        lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded))
        longest = int(lengths.max()) if len(lengths) else 0
        needed = int(needed_features(np.array([longest]), self.model.features)[0])
        indices = np.zeros((len(texts), input_columns(needed, self.model.features, max_length)), dtype=np.int64)
        for row, values in enumerate(encoded):
            indices[row, : len(values)] = values
        logits = self.model(
            torch.from_numpy(indices).to(self.device), torch.from_numpy(lengths), self._word_bags(texts),
            self.upper_convs,
        ).float()
        if self.class_bias is not None:
            logits = logits + self.class_bias
        return F.softmax(logits[:rows], dim=1).cpu().numpy()

    def reference_probabilities(self, indices: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Probabilities computed the paper's way (full one-hot input, every column), fp32.

        What the fast path must equal, and the original per-request app's cost.
        ``indices``: ``(len(texts), max_length)`` as :meth:`Alphabet.encode_batch` gives them;
        ``texts``: the same texts, for the word branch.
        """
        with torch.inference_mode():
            logits = self.model.forward_reference(torch.from_numpy(indices).to(self.device), self._word_bags(texts))
            if self.class_bias is not None:
                logits = logits + self.class_bias
            return F.softmax(logits, dim=1).cpu().numpy()

    def _precision_context(self) -> contextlib.AbstractContextManager[Any]:
        if self.precision == "bf16":
            return torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _word_bags(self, texts: Sequence[str]) -> WordBags | None:
        if not self.model.word_buckets:
            return None
        ids, offsets = ngram_bags(texts, self.model.word_buckets)
        return torch.from_numpy(ids).to(self.device), torch.from_numpy(offsets).to(self.device)

    def score(self, texts: Sequence[str], passes: int | None = None) -> list[Sentiment]:
        """Sentiment for each text, in order; empty texts score, long ones are truncated.

        ``passes`` is ignored (kept so older callers still work); see :meth:`probabilities`.
        """
        return verdicts(self.probabilities(texts, passes), self.classes)
