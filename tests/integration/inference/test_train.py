"""Training: loss goes down, a tiny set is fitted, the artefact and metrics are written."""

import csv
import json
from pathlib import Path

import pytest
import torch

from inference.artefact import load_artefact, read_card
from inference.training.checkpoint import load_checkpoint
from inference.training.data import read_labelled_csv
from inference.training.evaluate import evaluate
from inference.training.train import TrainOptions, resume, train
from tests.integration.inference.conftest import labelled_rows


@pytest.mark.slow
def test_training_fits_fifty_examples(tmp_path, tiny_csv):
    options = TrainOptions(
        data=str(tiny_csv), validation_split=0.0, epochs=40, batch_size=10, lr=5e-4,
        patience=40, schedule=100, output=str(tmp_path), model_name="tiny", log_every=1, max_length=256,
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


def resumable_options(tiny_csv, output, **overrides):
    """Every random part on: balanced draws (numpy), dropout and input dropout (torch), the word branch."""
    return TrainOptions(data=str(tiny_csv), epochs=3, batch_size=8, max_length=256, balance=True,
                        dropout_input=0.1, word_buckets=512, word_dim=4, validation_split=0.2, seed=11,
                        patience=10, schedule=1, output=str(output), **overrides)


def test_resume_ends_exactly_where_an_uninterrupted_run_ends(tmp_path, tiny_csv):
    straight = train(resumable_options(tiny_csv, tmp_path / "straight"))
    assert straight is not None
    interrupted = resumable_options(tiny_csv, tmp_path / "interrupted")
    assert train(interrupted, stop_after_steps=3) is None  # mid-epoch 1
    checkpoints = tmp_path / "interrupted" / "charcnn.checkpoint"
    assert load_checkpoint(checkpoints)["batch"] == 3
    assert resume(checkpoints, stop_after_steps=5) is None  # across the epoch 1 -> 2 boundary
    assert resume(checkpoints) is not None

    first, second = load_checkpoint(straight.with_name("charcnn.checkpoint")), load_checkpoint(checkpoints)
    assert first["step"] == second["step"] and first["epoch"] == second["epoch"] == 4
    for name, value in first["model"].items():
        assert torch.equal(value, second["model"][name]), name
    history = lambda directory: json.loads((directory / "metrics.json").read_text())["epochs"]  # noqa: E731
    assert history(straight) == history(tmp_path / "interrupted" / "charcnn")


def test_model_json_holds_no_absolute_paths_and_records_skipped_rows(tmp_path, tiny_csv):
    bad = tmp_path / "with_bad_rows.csv"
    bad.write_text(tiny_csv.read_text() + "no stars here,,alpha\n,5,alpha\n", encoding="utf-8")
    directory = train(TrainOptions(data=str(bad.resolve()), epochs=1, batch_size=25, max_length=256,
                                   output=str(tmp_path.resolve()), init_from=""))
    text = (directory / "model.json").read_text()

    def strings(value):
        if isinstance(value, dict):
            yield from (s for v in value.values() for s in strings(v))
        elif isinstance(value, list):
            yield from (s for v in value for s in strings(v))
        elif isinstance(value, str):
            yield value

    card = json.loads(text)
    assert not [s for s in strings(card) if Path(s).is_absolute()]
    assert card["training"]["rejected_rows"]["rows"] == 2
    assert card["training"]["rejected_rows"]["by_reason"] == {"bad rating": 1, "empty text": 1}
    assert card["calibration"]["class_bias"][0] == 0.0 and "after" in card["calibration"]


@pytest.mark.slow
def test_leave_one_domain_out_holds_the_domain_out_of_training(tmp_path, tiny_csv):
    from inference.training.domains import leave_one_domain_out

    options = TrainOptions(data=str(tiny_csv), epochs=1, batch_size=25, max_length=256, output=str(tmp_path))
    result = leave_one_domain_out(options, ["alpha"], sample_rows=10)
    row = result["domains"][0]
    assert row["domain"] == "alpha" and row["held_out_rows"] == 10
    assert row["training_rows"] == 23  # beta's 25 rows less the 10% validation split
    assert read_card(tmp_path / "lodo-alpha").training["exclude_sources"] == ["alpha"]
    assert 0.0 <= row["cnn"]["macro_f1"] <= 1.0 and 0.0 <= row["tfidf"]["macro_f1"] <= 1.0


@pytest.mark.slow
def test_domains_held_out_together_are_all_left_out_of_one_training_run(tmp_path):
    from inference.training.domains import leave_one_domain_out

    data = tmp_path / "three.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "rating", "source"), *(
            (text, stars, ("alpha", "beta", "gamma", "delta")[index % 4])
            for index, (text, stars) in enumerate(labelled_rows(80)))])
    options = TrainOptions(data=str(data), epochs=1, batch_size=25, max_length=256, output=str(tmp_path))
    result = leave_one_domain_out(options, ["alpha", "gamma"], sample_rows=10, together=True)
    assert [row["domain"] for row in result["domains"]] == ["alpha", "gamma"]
    assert all(row["training_rows"] == 36 for row in result["domains"])  # beta's and delta's 40 less 10%
    assert sorted(read_card(tmp_path / "lodo-alpha.gamma").training["exclude_sources"]) == ["alpha", "gamma"]
    assert not (tmp_path / "lodo-alpha").exists()

    trained = (tmp_path / "lodo-alpha.gamma" / "model.safetensors").stat().st_mtime_ns
    again = leave_one_domain_out(options, ["alpha", "gamma"], sample_rows=10, together=True, head=True, reuse=True)
    assert (tmp_path / "lodo-alpha.gamma" / "model.safetensors").stat().st_mtime_ns == trained  # scored, not retrained
    assert again["domains"][0]["cnn"] == result["domains"][0]["cnn"]
    assert set(again["mean_macro_f1"]) == {"cnn", "with_head", "tfidf"}
    assert read_card(tmp_path / "lodo-alpha.gamma-head").architecture["tfidf_head"]
    from stream.registry.store import VERSION_PATTERN  # `reviewpulse run` can serve either model

    assert all(VERSION_PATTERN.match(read_card(tmp_path / name).version)
               for name in ("lodo-alpha.gamma", "lodo-alpha.gamma-head"))


def test_validation_comparison_rebuilds_the_models_own_split(tmp_path, tiny_csv):
    from inference.training.domains import validation_comparison

    directory = train(TrainOptions(data=str(tiny_csv), epochs=1, batch_size=25, max_length=256,
                                   validation_split=0.2, output=str(tmp_path)))
    result = validation_comparison(directory)
    assert result["validation_rows"] == 10 and result["training_rows"] == 40
    # without its biases the model predicts exactly what training measured on the same rows
    assert result["cnn_raw"]["macro_f1"] == read_card(directory).metrics["validation"]["macro_f1"]


def test_word_pretraining_gives_the_joint_model_a_trained_word_branch(tmp_path):
    """Before any joint learning (lr 0) the model already classifies through its pretrained word branch."""
    data = tmp_path / "words.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "rating"), *labelled_rows(300)])

    def run(name, pretrain_words):
        options = TrainOptions(data=str(data), validation_split=0.2, epochs=1, batch_size=10, lr=0.0,
                               output=str(tmp_path), model_name=name, max_length=256, word_buckets=4096,
                               word_dim=8, pretrain_words=pretrain_words, word_lr=0.05, calibrate=False)
        return read_card(train(options)).metrics

    pretrained, untrained = run("pretrained", 60), run("untrained", 0)
    assert len(pretrained["word_pretraining"]) == 60
    word_only = pretrained["word_pretraining"][-1]["accuracy"]
    assert word_only >= 0.55  # bad is learnt; good vs average differ by one word of eight
    assert pretrained["validation"]["accuracy"] >= word_only - 0.05  # the head was folded into fc3
    assert pretrained["validation"]["accuracy"] >= untrained["validation"]["accuracy"] + 0.2
    assert "word_pretraining" not in untrained


@pytest.mark.slow
def test_a_narrow_network_with_learned_characters_trains_and_scores_from_its_artefact(tmp_path, tiny_csv):
    """``reviewpulse train --filters --char-dim``: the card records the shape, the scorer rebuilds it and agrees."""
    from typer.testing import CliRunner

    from inference.encoding import Alphabet
    from reviewpulse.cli import app

    done = CliRunner().invoke(app, [
        "train", "--data", str(tiny_csv), "--validation-split", "0.2", "--epochs", "30", "--batch-size", "10",
        "--lr", "2e-3", "--patience", "30", "--schedule", "100", "--max-length", "256", "--filters", "32",
        "--char-dim", "8", "--output", str(tmp_path), "--model-name", "narrow"])
    assert done.exit_code == 0, done.output
    card = read_card(tmp_path / "narrow")
    assert card.architecture["filters"] == 32 and card.architecture["char_dim"] == 8
    history = json.loads((tmp_path / "narrow" / "metrics.json").read_text())["epochs"]
    assert history[-1]["train_loss"] < history[0]["train_loss"] / 4  # it learns
    assert len(card.precision["int8"]["scales"]) == 6  # the gate calibrated and ran 32-wide int8 convolutions

    model, _, _ = load_artefact(tmp_path / "narrow")
    assert model.chars is not None and model.fc1.in_features == 32 * model.features
    texts = [text for text, _ in labelled_rows(6)]
    indices, lengths = (torch.from_numpy(a) for a in Alphabet(card.alphabet).encode_batch(texts, card.max_length))
    with torch.no_grad():
        reference = model.eval().forward_reference(indices)
    trained_path = model(indices, lengths)  # gradients on: the learned embeddings convolved
    assert torch.allclose(reference, trained_path, atol=1e-4)


def test_frozen_words_keep_the_pretrained_table_through_the_joint_epochs(tmp_path, tiny_csv):
    def run(name, freeze):
        options = TrainOptions(data=str(tiny_csv), validation_split=0.2, epochs=2, batch_size=10, max_length=256,
                               word_buckets=512, word_dim=4, pretrain_words=1, freeze_words=freeze,
                               output=str(tmp_path), model_name=name, calibrate=False, gate_precision=False)
        train(options, stop_after_steps=0)
        return load_checkpoint(tmp_path / f"{name}.checkpoint")["model"]

    frozen, free = run("frozen", True), run("free", False)
    pretrained = train(TrainOptions(data=str(tiny_csv), validation_split=0.2, epochs=1, batch_size=10, max_length=256,
                                    word_buckets=512, word_dim=4, pretrain_words=1, lr=0.0, output=str(tmp_path),
                                    model_name="pretrained", calibrate=False, gate_precision=False))
    table, _, _ = load_artefact(pretrained)
    assert torch.equal(frozen["words.weight"], table.words.weight)  # same seed, same pretraining, never updated
    assert not torch.equal(free["words.weight"], table.words.weight)
    assert not torch.equal(frozen["convs.0.weight"], table.convs[0].weight)  # the CNN still learned


@pytest.mark.parametrize("branch", [[], ["--word-buckets", "512"]])
def test_freezing_a_word_branch_that_was_never_trained_is_refused(tmp_path, tiny_csv, branch):
    from typer.testing import CliRunner

    from reviewpulse.cli import app

    done = CliRunner().invoke(app, ["train", "--data", str(tiny_csv), "--freeze-words", "--output", str(tmp_path),
                                    *branch])
    assert done.exit_code == 2 and "--freeze-words keeps a trained word branch" in done.output
    assert not (tmp_path / "charcnn").exists()


def test_cnn_first_keeps_the_word_branch_out_until_the_cnn_has_trained(tmp_path, tiny_csv):
    """``--cnn-first 2``: two epochs of the CNN alone (no word weight moves), then the pretrained branch joins."""
    options = TrainOptions(data=str(tiny_csv), validation_split=0.2, epochs=3, batch_size=10, max_length=256,
                           word_buckets=512, word_dim=4, pretrain_words=1, cnn_first=2, patience=10,
                           output=str(tmp_path), model_name="first", calibrate=False, gate_precision=False)
    assert train(options, stop_after_steps=8) is None  # the last batch of epoch 2, before the join
    alone = load_checkpoint(tmp_path / "first.checkpoint")
    assert "word_pretraining" not in alone
    assert not alone["model"]["words.weight"].any() and not alone["model"]["fc3.weight"][:, 1024:].any()
    assert alone["model"]["fc3.weight"][:, :1024].any()

    directory = resume(tmp_path / "first.checkpoint")
    joined = load_checkpoint(tmp_path / "first.checkpoint")
    assert len(joined["word_pretraining"]) == 1 and joined["model"]["words.weight"].any()
    assert joined["model"]["fc3.weight"][:, 1024:].any()  # the pretrained head was folded in
    metrics = json.loads((directory / "metrics.json").read_text())
    assert metrics["words_joined_at"] == 3 and len(metrics["epochs"]) == 3


def test_cnn_first_joins_the_words_early_once_the_cnn_stops_improving(tmp_path, tiny_csv):
    options = TrainOptions(data=str(tiny_csv), validation_split=0.2, epochs=4, batch_size=10, max_length=256,
                           word_buckets=512, word_dim=4, pretrain_words=1, cnn_first=3, patience=1, lr=0.0,
                           output=str(tmp_path), model_name="early", calibrate=False, gate_precision=False)
    metrics = json.loads((train(options) / "metrics.json").read_text())
    assert metrics["words_joined_at"] == 3  # epoch 2 did not beat epoch 1: the CNN alone had converged


def test_cnn_first_without_a_word_branch_to_join_is_refused(tmp_path, tiny_csv):
    from typer.testing import CliRunner

    from reviewpulse.cli import app

    done = CliRunner().invoke(app, ["train", "--data", str(tiny_csv), "--cnn-first", "2", "--output", str(tmp_path)])
    assert done.exit_code == 2 and "--cnn-first trains the CNN before the word branch joins" in done.output
    done = CliRunner().invoke(app, ["train", "--data", str(tiny_csv), "--cnn-first", "2", "--epochs", "2",
                                    "--word-buckets", "512", "--pretrain-words", "1", "--output", str(tmp_path)])
    assert done.exit_code == 2 and "leaves no joint epoch" in done.output
