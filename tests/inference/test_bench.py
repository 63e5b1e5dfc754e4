"""`reviewpulse bench scorer --data`: the user's texts, every configuration, ratios to the baseline row."""

import csv

import pytest
import torch

from inference.artefact import ModelCard, save_artefact
from inference.bench import BenchDataError, format_table, run_scorer_bench, sample_texts
from inference.encoding import DEFAULT_ALPHABET
from inference.model import CharCNN


@pytest.fixture
def texts_csv(tmp_path):
    path = tmp_path / "mine.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review", "stars"])
        for i in range(30):
            writer.writerow([f"review {i} " * (i % 7 + 1), 5])
    return path


def test_bench_on_a_users_file(tmp_path, texts_csv):
    torch.manual_seed(0)
    card = ModelCard(name="b", version="b-1", alphabet=DEFAULT_ALPHABET, max_length=256, classes=["bad", "good"])
    directory = save_artefact(CharCNN(len(DEFAULT_ALPHABET), 2, 256), card, tmp_path / "m")
    result = run_scorer_bench(directory, texts_csv, "review", sample=20, subset=6, repeats=1, progress=False)
    assert result["texts"] == 20 and result["subset"] == 6
    assert [row["precision"] for row in result["rows"]] == ["fp32", "fp32", "fp32", "bf16", "fp32"]
    assert result["rows"][0]["ratio"] == 1.0 and result["max_abs_prob_diff_default_vs_reference"] < 1e-4
    assert "score(texts)" in format_table(result)


def test_bench_names_a_missing_column(texts_csv):
    with pytest.raises(BenchDataError, match="no column 'text'.*review.*--text-column"):
        sample_texts(10, data=texts_csv)
