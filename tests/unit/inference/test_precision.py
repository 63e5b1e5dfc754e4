"""Precision: the bf16 gate, what ``auto`` resolves to, the setting, and bf16 labels on the shipped model."""

import json

import numpy as np
import pytest

from inference import hardware, precision
from inference.artefact import ModelCard, read_card, save_artefact, save_untrained
from inference.encoding import DEFAULT_ALPHABET
from inference.precision import precision_gate, record_precision_gate, resolve_precision
from inference.scorer import Scorer
from reviewpulse.settings import get_settings

TEXTS = ["Loved it, will come back!", "", "cold food and rude staff " * 80, "ok\nI guess", "never again."]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_untrained(tmp_path_factory.mktemp("model"), seed=6, output_std=0.5, name="p", version="p-1")


def passed_card() -> ModelCard:
    card = ModelCard(name="p", version="p-1", alphabet=DEFAULT_ALPHABET, max_length=1014, classes=["a", "b"])
    card.precision = {"bf16": {"passed": True}}
    return card


def test_auto_needs_a_passed_gate_and_native_bf16(monkeypatch):
    card = passed_card()
    monkeypatch.setattr(precision, "bf16_is_native", lambda device: True)
    assert resolve_precision("auto", card, "cpu") == "bf16"
    card.precision["bf16"]["passed"] = False
    assert resolve_precision("auto", card, "cpu") == "fp32"
    monkeypatch.setattr(precision, "bf16_is_native", lambda device: False)
    assert resolve_precision("auto", passed_card(), "cpu") == "fp32"
    assert resolve_precision("bf16", passed_card(), "cpu") == "bf16"  # an explicit choice is kept
    assert resolve_precision("fp32", passed_card(), "cpu") == "fp32"
    with pytest.raises(ValueError, match="SCORER_PRECISION"):
        resolve_precision("int4", passed_card(), "cpu")


@pytest.mark.skipif(hardware.cpu_has_native_bf16(), reason="this CPU runs bf16 natively")
def test_auto_is_fp32_on_a_cpu_without_native_bf16(model_dir):
    assert Scorer.load(model_dir, device="cpu", precision="auto").precision == "fp32"


def test_the_setting_picks_the_precision(model_dir, monkeypatch):
    monkeypatch.setenv("SCORER_PRECISION", "bf16")
    get_settings.cache_clear()
    try:
        assert Scorer.load(model_dir, device="cpu").precision == "bf16"
    finally:
        monkeypatch.delenv("SCORER_PRECISION")
        get_settings.cache_clear()


def test_bf16_scores_close_to_fp32(model_dir):
    fp32 = Scorer.load(model_dir, device="cpu", precision="fp32").probabilities(TEXTS)
    bf16 = Scorer.load(model_dir, device="cpu", precision="bf16").probabilities(TEXTS)
    assert bf16.dtype == np.float32 and np.allclose(bf16.sum(1), 1, atol=1e-5)
    assert np.abs(bf16 - fp32).max() < 0.05


def test_gate_report_and_verdict(model_dir):
    scorer = Scorer.load(model_dir, device="cpu", precision="fp32")
    labels = [0, 1, 2, 0, 1]
    same = precision_gate(scorer, TEXTS, labels, candidates=("fp32",))
    assert same["fp32"] == {"label_agreement": 1.0, "macro_f1": same["fp32_macro_f1"], "macro_f1_delta": 0.0,
                            "passed": True}
    report = precision_gate(scorer, TEXTS, labels)
    row = report["bf16"]
    assert report["texts"] == 5 and scorer.precision == "fp32"
    assert row["passed"] == (row["label_agreement"] >= 0.995 and row["macro_f1_delta"] <= 0.002)
    assert precision_gate(scorer, TEXTS * 10, labels * 10, max_texts=7)["texts"] == 7
    assert precision_gate(scorer, [], [])["bf16"] == {"passed": False}


def test_gate_is_recorded_in_model_json_and_read_back(model_dir, tmp_path):
    copy = save_artefact(Scorer.load(model_dir, device="cpu").model, read_card(model_dir), tmp_path / "copy")
    report = record_precision_gate(copy, TEXTS, [0, 1, 2, 0, 1])
    assert json.loads((copy / "model.json").read_text())["precision"] == report
    assert read_card(copy).precision["bf16"]["passed"] == report["bf16"]["passed"]


