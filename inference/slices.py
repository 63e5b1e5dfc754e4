"""How the scorer cuts any list of texts into forward passes: few, length-similar, bounded.

The fast forward's cost per text grows with the *longest* text of its pass (the
pass is cropped to that width), and every pass has a fixed overhead. So texts are
deduplicated, sorted by length, grouped by the number of feature columns they
need (1..34 for the paper's model), and consecutive groups are merged where one
pass's overhead costs more than the padding merging adds (a small dynamic
programme over at most 34 groups). A pass runs as ``padded_rows`` rows (a few
hundred shapes in all, each with its kernels built once) and never holds more than
``max_cells`` rows x input columns, which bounds memory whatever the list or its lengths.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from inference.model import COLUMNS_PER_FEATURE, FEATURE_CONTEXT

#: Fixed cost of one forward pass, in (row x input column) units of work. On the
#: 2-core CPU it ranged from ~4,000 (idle) to ~65,000 cells (cores shared with a
#: training run); 16,384 (64 short reviews) did best on the worker's batches of 64.
PASS_OVERHEAD_CELLS = 16384
#: Most rows x input columns in one pass: 32 full-length texts, ~125 MB of activations.
MAX_CELLS = 32768


def unique_texts(texts: Iterable[str]) -> tuple[list[str], np.ndarray]:
    """Distinct texts in first-seen order and, per input text, its position among them.

    Raises ``TypeError`` naming the first non-string. A million copies of one text
    are scored once.
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError("score() takes a list of texts, not a single str")
    positions: dict[str, int] = {}
    inverse: list[int] = []
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"texts[{index}] is {type(text).__name__}, expected str")
        inverse.append(positions.setdefault(text, len(positions)))
    return list(positions), np.asarray(inverse, dtype=np.int64)


def padded_rows(rows: int) -> int:
    """Rows a pass of ``rows`` texts runs as: rounded up to one of about eight sizes per doubling.

    Why: oneDNN (torch's x86 int8 engine here) builds its kernels per input shape, ~7 ms
    each; unrounded, a stream of takes met new shapes for minutes (the first pass over
    30,000 reviews ran 20-25% slower than the second). Rounding adds at most 1/8 empty
    rows to a pass and keeps the shapes a process ever meets to a few hundred.
    """
    step = _row_step(rows)
    return -(-rows // step) * step


def _row_step(rows: int) -> int:
    """Sizes between 2**k and 2**(k+1) step by 2**(k-3): eight per doubling, exact below 16."""
    return 1 << max(0, rows.bit_length() - 4)


def needed_features(lengths: np.ndarray, features: int) -> np.ndarray:
    """Feature columns each text needs (ceil(length / 27), at least 1, at most ``features``)."""
    return np.clip(-(-lengths // COLUMNS_PER_FEATURE), 1, features)


def input_columns(needed: int, features: int, max_length: int) -> int:
    """Input columns a pass over texts needing ``needed`` feature columns reads."""
    if needed >= features:
        return max_length
    return min(COLUMNS_PER_FEATURE * needed + FEATURE_CONTEXT, max_length)


def plan_passes(
    lengths: np.ndarray, features: int, max_length: int, max_cells: int = MAX_CELLS,
    overhead_cells: int = PASS_OVERHEAD_CELLS,
) -> Iterator[np.ndarray]:
    """Row indices of each pass, shortest texts first; every row appears in exactly one pass."""
    order = np.argsort(lengths, kind="stable")
    needed = needed_features(lengths[order], features)
    values, starts, counts = np.unique(needed, return_index=True, return_counts=True)
    widths = [input_columns(int(v), features, max_length) for v in values]
    # best[g]: least cost of groups [0, g); cut[g]: where the last merged run starts.
    best, cut = [0.0] + [float("inf")] * len(values), [0] * (len(values) + 1)
    for end in range(1, len(values) + 1):
        merged_rows = 0
        for start in range(end - 1, -1, -1):
            merged_rows += int(counts[start])
            passes = -(-merged_rows * widths[end - 1] // max_cells)
            cost = best[start] + merged_rows * widths[end - 1] + passes * overhead_cells
            if cost < best[end]:
                best[end], cut[end] = cost, start
    runs, end = [], len(values)
    while end:
        runs.append((cut[end], end))
        end = cut[end]
    for first, last in reversed(runs):
        rows = order[starts[first] : starts[last - 1] + counts[last - 1]]
        fits = max(1, max_cells // widths[last - 1])
        step = _row_step(fits)
        per_pass = fits // step * step  # a padded size, so no pass pads past max_cells
        passes = -(-len(rows) // per_pass)
        yield from np.array_split(rows, passes)
