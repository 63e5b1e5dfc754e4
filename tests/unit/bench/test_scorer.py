"""`reviewpulse bench scorer --data`: the user's texts, every configuration, ratios to the baseline row."""

import pytest

from inference import precision
from inference.artefact import save_untrained
from inference.hardware import int8_is_native
from inference.training.precision_gate import record_precision_gate
from reviewpulse.bench.scorer import format_table, run_scorer_bench
from reviewpulse.bench.texts import synthetic_reviews


def test_bench_on_a_users_file(tmp_path, texts_csv):
    directory = save_untrained(tmp_path / "m", max_length=256, classes=("bad", "good"), name="b", version="b-1")
    result = run_scorer_bench(directory, texts_csv, "review", sample=20, subset=6, repeats=1, progress=False)
    assert result["texts"] == 20 and result["subset"] == 6
    assert [row["precision"] for row in result["rows"]] == ["fp32", "fp32", "fp32", "bf16", "fp32"]
    assert result["rows"][0]["ratio"] == 1.0 and result["max_abs_prob_diff_default_vs_reference"] < 1e-4
    assert "score(texts)" in format_table(result)


@pytest.mark.skipif(not int8_is_native("cpu"), reason="this torch build has no x86 quantized engine")
def test_bench_measures_int8_where_the_model_has_it(tmp_path, texts_csv, monkeypatch):
    directory = save_untrained(tmp_path / "m", max_length=256, classes=("bad", "good"), name="b", version="b-1")
    gate = record_precision_gate(directory, synthetic_reviews(30), [i % 2 for i in range(30)])
    monkeypatch.setattr(precision, "bf16_is_native", lambda device: False)
    result = run_scorer_bench(directory, texts_csv, "review", sample=20, subset=6, repeats=1, progress=False)
    assert [row["precision"] for row in result["rows"]] == ["fp32", "fp32", "int8", "fp32", "bf16", "fp32", "int8"]
    assert result["default_precision"] == ("int8" if gate["int8"]["passed"] else "fp32")
    assert 0.5 <= result["int8_label_agreement"] <= 1.0 and "int8 vs fp32" in format_table(result)


def test_bench_times_another_model_in_the_same_rounds(tmp_path, texts_csv):
    """``--against``: today's model on the same texts, and the candidate's ratio to it."""
    candidate = save_untrained(tmp_path / "c", max_length=256, classes=("bad", "good"), name="c", version="c-1")
    today = save_untrained(tmp_path / "t", max_length=256, classes=("bad", "good"), name="t", version="t-1")
    result = run_scorer_bench(candidate, texts_csv, "review", sample=20, subset=6, repeats=1, progress=False,
                              against=today)
    assert result["against"] == "t-1" and [row["texts"] for row in result["rows"][-2:]] == [20, 20]
    assert [row["config"].rsplit(" ", 1)[1] for row in result["rows"][-2:]] == ["c-1", "t-1"]
    assert result["against_ratio"] == round(result["served_reviews_per_s"] / result["against_reviews_per_s"], 2)
    assert "x t-1's on the same texts" in format_table(result)
