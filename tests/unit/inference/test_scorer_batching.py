"""The default scoring path: any number of texts, caller's order, bounded passes, bad input."""

import random
import tracemalloc

import numpy as np
import pytest

from inference.artefact import save_untrained
from inference.scorer import Scorer
from inference.slices import input_columns, padded_rows, plan_passes, unique_texts


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    directory = save_untrained(tmp_path_factory.mktemp("model"), seed=5, output_std=0.5, name="b", version="b-1")
    return Scorer.load(directory, device="cpu")


def mixed_texts(count: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    words = "good bad food staff never again lovely rude, ok! \n".split(" ")
    return [" ".join(rng.choices(words, k=rng.choice((0, 1, 5, 30, 120, 400)))) for _ in range(count)]


def record_passes(scorer, monkeypatch) -> list[tuple[int, int]]:
    """Shapes of the index tensors every forward pass receives."""
    shapes: list[tuple[int, int]] = []
    forward = scorer.model.forward

    def spy(indices, lengths=None, words=None, upper=None):
        shapes.append(tuple(indices.shape))
        return forward(indices, lengths, words, upper)

    monkeypatch.setattr(scorer.model, "forward", spy)
    return shapes


def test_many_texts_keep_the_callers_order_and_match_one_by_one(scorer, monkeypatch):
    texts = mixed_texts(120)
    monkeypatch.setattr(scorer, "max_cells", 3000)  # force many passes
    shapes = record_passes(scorer, monkeypatch)
    batch = scorer.probabilities(texts)
    assert len(shapes) > 3
    monkeypatch.undo()
    single = np.concatenate([scorer.probabilities([text]) for text in texts])
    assert np.abs(batch - single).max() <= 1e-5


def test_every_pass_is_bounded_by_max_cells(scorer, monkeypatch):
    texts = mixed_texts(300, seed=1) + ["x" * 5000]
    monkeypatch.setattr(scorer, "max_cells", 8192)
    shapes = record_passes(scorer, monkeypatch)
    scorer.probabilities(texts)
    assert len(set(texts)) <= sum(rows for rows, _ in shapes) <= len(set(texts)) * 9 / 8 + len(shapes)
    assert all(rows * columns <= 8192 or rows == 1 for rows, columns in shapes)
    assert all(rows == padded_rows(rows) for rows, _ in shapes)


def test_passes_run_as_few_row_counts_with_little_padding():
    sizes = {padded_rows(rows) for rows in range(1, 1025)}
    assert len(sizes) <= 16 + 8 * 6  # exact below 16, then eight per doubling up to 1,024
    for rows in range(1, 5000):
        assert rows <= padded_rows(rows) <= rows * 9 / 8 and padded_rows(padded_rows(rows)) == padded_rows(rows)


def test_plan_covers_each_row_once_with_similar_lengths():
    lengths = np.array([0, 1014, 5, 300, 27, 28, 1014, 150, 0, 999] * 50)
    passes = list(plan_passes(lengths, features=34, max_length=1014, max_cells=4096))
    assert sorted(np.concatenate(passes).tolist()) == list(range(len(lengths)))
    for rows in passes:
        width = input_columns(int(-(-lengths[rows].max() // 27)) or 1, 34, 1014)
        assert len(rows) * width <= 4096 or len(rows) == 1
    assert list(plan_passes(np.zeros(0, dtype=np.int64), 34, 1014)) == []


def test_passes_keyword_is_still_accepted(scorer):
    texts = mixed_texts(20)
    assert np.array_equal(scorer.probabilities(texts, passes=4), scorer.probabilities(texts))
    assert len(scorer.score(texts, 4)) == 20


def test_empty_list(scorer):
    assert scorer.score([]) == []
    assert scorer.probabilities([]).shape == (0, 3)


def test_a_million_empty_strings_score_once_in_bounded_memory(scorer, monkeypatch):
    shapes = record_passes(scorer, monkeypatch)
    texts = [""] * 1_000_000
    tracemalloc.start()
    probs = scorer.probabilities(texts)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert probs.shape == (1_000_000, 3)
    assert shapes == [(1, input_columns(1, 34, 1014))]
    assert np.array_equal(probs[0], probs[-1])
    assert peak < 100 * 2**20  # a (1e6, 1014) index array alone would be 8 GB


def test_a_10_mb_text_among_short_ones(scorer, monkeypatch):
    huge = "Terrible. " * 1_000_000
    texts = ["fine", huge, "lovely staff", ""]
    shapes = record_passes(scorer, monkeypatch)
    probs = scorer.probabilities(texts)
    assert max(columns for _, columns in shapes) == 1014
    monkeypatch.undo()
    assert np.abs(probs[1] - scorer.probabilities([huge[:1014]])[0]).max() <= 1e-5
    assert np.abs(probs[[0, 2, 3]] - scorer.probabilities(["fine", "lovely staff", ""])).max() <= 1e-5


@pytest.mark.parametrize("bad", [None, 3, b"bytes", ["nested"]])
def test_non_strings_raise_a_type_error_naming_the_position(scorer, bad):
    with pytest.raises(TypeError, match=rf"texts\[2\] is {type(bad).__name__}, expected str"):
        scorer.score(["a", "b", bad])


def test_a_single_str_or_bytes_is_refused(scorer):
    for value in ("fine", b"fine"):
        with pytest.raises(TypeError, match="not a single str"):
            scorer.probabilities(value)


def test_any_iterable_of_str_and_duplicates(scorer):
    texts = ["same", "other", "same"]
    probs = scorer.probabilities(iter(texts))
    assert np.array_equal(probs[0], probs[2])
    assert unique_texts(texts)[0] == ["same", "other"]
    assert unique_texts(texts)[1].tolist() == [0, 1, 0]
