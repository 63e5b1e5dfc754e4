"""Class-bias calibration: balanced predictions, and a pure per-class shift of each text's scores."""

import numpy as np
import torch

from inference.artefact import load_artefact, save_artefact, save_untrained
from inference.scorer import Scorer
from inference.training.calibration import calibration_report, fit_class_bias, predicted_shares


def skewed_log_probs(seed=0, rows=3000):
    """A model that says 'good' too often: the middle class is rarely the argmax."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, rows)
    logits = rng.normal(size=(rows, 3)) + np.eye(3)[labels] * 1.5 + np.array([0.0, -1.5, 1.0])
    return torch.log_softmax(torch.from_numpy(logits), dim=1).numpy(), labels


def test_fitted_biases_predict_each_class_about_as_often_as_it_occurs():
    log_probs, labels = skewed_log_probs()
    weights = np.ones(len(labels)) / len(labels)
    before = predicted_shares(log_probs, np.zeros(3), weights)
    assert before[1] < 0.15  # the skew this test is about
    bias = fit_class_bias(log_probs, labels)
    after = predicted_shares(log_probs, bias, weights)
    assert bias[0] == 0.0
    assert np.abs(after - np.bincount(labels) / len(labels)).max() < 0.03
    report = calibration_report(log_probs, labels, bias, ["bad", "average", "good"])
    assert report["after"]["f1"]["average"] > report["before"]["f1"]["average"]
    assert report["after"]["macro_f1"] > report["before"]["macro_f1"]


def test_calibration_only_shifts_each_class_by_its_bias(tmp_path):
    plain_dir = save_untrained(tmp_path / "plain", max_length=256, seed=4, name="c", version="c-1")
    plain = Scorer.load(plain_dir, device="cpu")
    model, card, _ = load_artefact(plain_dir)
    card.calibration = {"class_bias": [0.0, 0.7, -0.4]}
    calibrated = Scorer.load(save_artefact(model, card, tmp_path / "calibrated"), device="cpu")
    texts = ["fine", "terrible service", "", "loved it " * 40]
    raw, shifted = np.log(plain.probabilities(texts)), np.log(calibrated.probabilities(texts))
    # log p differs by bias + a per-text constant: pairwise class gaps move by exactly the bias gaps
    difference = shifted - raw
    assert np.allclose(difference - difference[:, :1], [0.0, 0.7, -0.4], atol=1e-5)
