"""`reviewpulse bench scorer --data`: the user's texts, every configuration, ratios to the baseline row."""

from bench.scorer import format_table, run_scorer_bench
from inference.artefact import save_untrained


def test_bench_on_a_users_file(tmp_path, texts_csv):
    directory = save_untrained(tmp_path / "m", max_length=256, classes=("bad", "good"), name="b", version="b-1")
    result = run_scorer_bench(directory, texts_csv, "review", sample=20, subset=6, repeats=1, progress=False)
    assert result["texts"] == 20 and result["subset"] == 6
    assert [row["precision"] for row in result["rows"]] == ["fp32", "fp32", "fp32", "bf16", "fp32"]
    assert result["rows"][0]["ratio"] == 1.0 and result["max_abs_prob_diff_default_vs_reference"] < 1e-4
    assert "score(texts)" in format_table(result)
