"""``reviewpulse bench train`` on a tiny corpus: every figure present and consistent (speed is the benchmark's, not the test's)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reviewpulse.bench.train import run_train_bench
from reviewpulse.cli import app

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def corpus_csv(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "rating", "source"])
        for n in range(120):
            stars = (1, 3, 5)[n % 3]
            writer.writerow([f"review {n}: " + ("awful rude" if stars == 1 else "fine" if stars == 3 else "lovely") * (n % 7 + 1),
                             stars, "alpha"])
    return path


def test_every_configuration_is_timed_and_its_work_counted(corpus_csv: Path) -> None:
    result = run_train_bench(corpus_csv, rows=120, steps=2, repeats=1, options={"batch_size": 16, "word_buckets": 512},
                             progress=False)
    figures_of = result["configurations"]
    assert set(figures_of) == {"before", "recipe", "narrow", "narrow_frozen_words", "fp32"}
    assert result["timed_rows"] == 32
    for figures in result["configurations"].values():
        assert figures["rows_per_s"] > 0 and figures["gflops_per_row"] > 0
        assert sum(figures["phases"].values()) == pytest.approx(1.0, abs=0.01)
        assert figures["achieved_gflops"] == pytest.approx(
            figures["gflops_per_row"] * figures["rows_per_s"], rel=0.05)
    for name, other in (("recipe", "fp32"), ("recipe", "before"), ("narrow", "before"),
                        ("narrow_frozen_words", "before")):
        assert result[f"{name}_vs_{other}"] == pytest.approx(
            figures_of[name]["rows_per_s"] / figures_of[other]["rows_per_s"], abs=0.01)
    # the narrow network does less arithmetic per row and has fewer parameters than the recipe's
    assert figures_of["narrow"]["gflops_per_row"] < figures_of["recipe"]["gflops_per_row"] / 2
    assert figures_of["narrow"]["parameters"] < figures_of["recipe"]["parameters"]


def test_the_command_prints_one_json_object_and_refuses_an_unreadable_file(corpus_csv: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["bench", "train", "--data", str(corpus_csv), "--rows", "60", "--steps", "1",
                               "--repeats", "1", "--batch-size", "8", "--word-buckets", "0", "--json"])
    assert done.exit_code == 0, done.output
    assert '"recipe_vs_fp32"' in done.output
    missing = runner.invoke(app, ["bench", "train", "--data", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "nope.csv" in missing.output
