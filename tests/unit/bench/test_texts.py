"""The benchmarks' one text source: deterministic synthetic reviews, a user's file with the fix when it is wrong."""

from __future__ import annotations

import pytest

from reviewpulse.bench.texts import BenchDataError, sample_texts, synthetic_reviews


def test_texts_are_deterministic_with_a_realistic_median_length() -> None:
    texts = synthetic_reviews(2000)
    assert texts == synthetic_reviews(2000) and len(set(texts)) == 2000
    median = sorted(len(t) for t in texts)[1000]
    assert 100 <= median <= 250


def test_bench_names_a_missing_column(texts_csv) -> None:
    with pytest.raises(BenchDataError, match="no column 'text'.*review.*--text-column"):
        sample_texts(10, data=texts_csv)
