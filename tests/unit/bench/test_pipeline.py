"""The pipeline benchmark's inputs: a model even before training."""

from __future__ import annotations

from pathlib import Path

from kernel.settings import Settings
from reviewpulse.bench.pipeline import bench_model_dir


def test_untrained_artefact_stands_in_when_no_model_exists(tmp_path: Path) -> None:
    from inference.artefact import read_card

    model_dir, kind = bench_model_dir(Settings(model_dir=tmp_path / "missing"), tmp_path)
    assert "untrained" in kind and read_card(model_dir).classes == ["bad", "average", "good"]
