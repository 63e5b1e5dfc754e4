"""Training: loss goes down, a tiny set is fitted, the artefact and metrics are written."""

import json

import pytest

from inference.artefact import load_artefact, read_card
from inference.data import read_labelled_csv
from inference.evaluate import evaluate
from inference.train import TrainOptions, train


@pytest.mark.slow
def test_training_fits_fifty_examples(tmp_path, tiny_csv):
    options = TrainOptions(
        data=str(tiny_csv), validation_split=0.0, epochs=40, batch_size=10, lr=5e-4,
        patience=40, schedule=100, output=str(tmp_path), model_name="tiny", log_every=1,
    )
    directory = train(options)
    history = json.loads((directory / "metrics.json").read_text())["epochs"]
    assert history[-1]["train_loss"] < history[0]["train_loss"] / 4
    best = max(epoch["accuracy"] for epoch in history)
    assert best == 1.0

    card = read_card(directory)
    assert card.classes == ["bad", "average", "good"]
    assert card.metrics["validation"]["accuracy"] == 1.0
    assert set(card.metrics["validation_per_source"]) == {"alpha", "beta"}
    assert len(card.data_sha256) == 64
    assert card.training["epochs"] == 40

    report = evaluate(directory, tiny_csv, progress=False)
    assert report["n"] == 50 and report["accuracy"] == 1.0
    assert report["baseline"]["name"] == "tfidf+logreg"
    model, _, _ = load_artefact(directory)
    assert model.fc3.out_features == 3


def test_training_is_seeded(tmp_path, tiny_csv):
    def run(name):
        options = TrainOptions(data=str(tiny_csv), epochs=1, batch_size=25, output=str(tmp_path),
                               model_name=name, seed=5, max_rows=50)
        return json.loads((train(options) / "metrics.json").read_text())["epochs"][0]

    first, second = run("a"), run("b")
    assert first["train_loss"] == second["train_loss"]
    assert first["confusion"] == second["confusion"]


def test_exclude_sources_leaves_rows_out(tmp_path, tiny_csv):
    options = TrainOptions(data=str(tiny_csv), epochs=1, batch_size=25, output=str(tmp_path),
                           exclude_sources=("alpha",))
    card = read_card(train(options))
    assert card.training["rows"] == len(read_labelled_csv(tiny_csv)) // 2
