"""The pipeline benchmark's inputs: realistic text lengths, a model even before training."""

from __future__ import annotations

from pathlib import Path

from reviewpulse.settings import Settings
from stream.bench import bench_model_dir, review_texts


def test_texts_are_deterministic_with_a_realistic_median_length() -> None:
    texts = review_texts(2000)
    assert texts == review_texts(2000) and len(set(texts)) == 2000
    median = sorted(len(t) for t in texts)[1000]
    assert 100 <= median <= 250


def test_untrained_artefact_stands_in_when_no_model_exists(tmp_path: Path) -> None:
    from inference.artefact import read_card

    model_dir, kind = bench_model_dir(Settings(model_dir=tmp_path / "missing"), tmp_path)
    assert "untrained" in kind and read_card(model_dir).classes == ["bad", "average", "good"]
