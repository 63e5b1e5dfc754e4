"""``reviewpulse head``: a TF-IDF head stacked on a base model, measured on validation rows neither part saw."""

import csv

import numpy as np
import pytest
from typer.testing import CliRunner

from inference.artefact import read_card
from inference.training.base_head import put_head_on_base, validation_halves
from inference.training.train import TrainOptions, train
from reviewpulse.cli import app
from tests.integration.inference.conftest import labelled_rows


@pytest.fixture
def weak_base(tmp_path):
    """A network that never learnt (lr 0): whatever the head model gets right, its words did."""
    data = tmp_path / "words.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([("text", "rating"), *labelled_rows(300)])
    return train(TrainOptions(data=str(data), validation_split=0.4, epochs=1, batch_size=50, lr=0.0,
                              max_length=256, output=str(tmp_path), model_name="weak", gate_precision=False))


def test_the_head_carries_what_the_network_never_learnt(tmp_path, weak_base):
    result = put_head_on_base(weak_base, tmp_path / "with-head", progress=False)
    assert result["rows"] == 60  # half of the 120 validation rows; the other half fitted the stacking layer
    assert result["with_head"]["macro_f1"] >= result["base"]["macro_f1"] + 0.2
    card = read_card(tmp_path / "with-head")
    assert card.architecture["tfidf_head"] and card.training["base_version"] == read_card(weak_base).version
    assert card.metrics["tfidf_head"]["with_head"] == result["with_head"]
    assert card.precision["texts"] == 60 and "int8" in card.precision  # gated afresh on the measured half


def test_the_two_halves_split_the_validation_rows(tmp_path):
    rows = np.arange(100, 151)
    stack, measure = validation_halves(rows, seed=3)
    assert len(stack) + len(measure) == 51 and not set(stack) & set(measure)
    assert sorted([*stack, *measure]) == list(rows)
    assert np.array_equal(validation_halves(rows, seed=3)[0], stack)  # seeded


def test_a_model_that_already_has_a_head_is_refused(tmp_path, weak_base):
    put_head_on_base(weak_base, tmp_path / "once", progress=False)
    done = CliRunner().invoke(app, ["head", "--model", str(tmp_path / "once"), "--output", str(tmp_path / "twice")])
    assert done.exit_code == 2 and "already has a TF-IDF head" in done.output
    assert not (tmp_path / "twice").exists()
