"""Precision: the bf16 and int8 gates, what ``auto`` resolves to, the setting, int8 on the shipped model."""

import json

import numpy as np
import pytest
import torch

from inference import hardware, precision
from inference.artefact import ModelCard, read_card, save_artefact, save_untrained
from inference.encoding import DEFAULT_ALPHABET
from inference.hardware import int8_is_native
from inference.precision import resolve_precision
from inference.scorer import Scorer
from inference.training.precision_gate import precision_gate, record_precision_gate
from kernel.settings import DEFAULT_MODEL_DIR, get_settings
from reviewpulse.bench.texts import TYPED_REVIEWS, synthetic_reviews

needs_int8 = pytest.mark.skipif(not int8_is_native("cpu"), reason="this torch build has no x86 quantized engine")

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




def int8_card(passed: bool = True, scales=(0.01,) * 6) -> ModelCard:
    card = passed_card()
    card.precision = {"bf16": {"passed": True}, "int8": {"passed": passed, "scales": list(scales) if scales else None}}
    return card


@needs_int8
def test_auto_picks_int8_first_where_its_gate_passed(monkeypatch):
    monkeypatch.setattr(precision, "bf16_is_native", lambda device: False)
    assert resolve_precision("auto", int8_card(), "cpu") == "int8"
    assert resolve_precision("auto", int8_card(passed=False), "cpu") == "fp32"
    assert resolve_precision("auto", int8_card(scales=None), "cpu") == "fp32"  # a gate without its calibration
    assert resolve_precision("auto", int8_card(), "cuda") == "fp32"  # quantized kernels are CPU-only
    monkeypatch.setattr(precision, "bf16_is_native", lambda device: True)
    assert resolve_precision("auto", int8_card(), "cpu") == "int8"  # faster than native bf16 where both ran
    assert resolve_precision("auto", int8_card(passed=False), "cpu") == "bf16"
    assert resolve_precision("auto", int8_card(), "cuda") == "bf16"


def test_explicit_int8_needs_a_cpu_and_a_calibration():
    with pytest.raises(ValueError, match="no int8 calibration.*--record-precision"):
        resolve_precision("int8", passed_card(), "cpu")
    with pytest.raises(ValueError, match="x86 CPU only"):
        resolve_precision("int8", int8_card(), "cuda")


@needs_int8
def test_int8_gate_calibrates_records_and_auto_then_uses_it(model_dir, tmp_path, monkeypatch):
    copy = save_artefact(Scorer.load(model_dir, device="cpu").model, read_card(model_dir), tmp_path / "int8")
    texts = synthetic_reviews(60, seed=3)
    report = record_precision_gate(copy, texts, [i % 3 for i in range(60)], max_texts=40)
    row = report["int8"]
    assert len(row["scales"]) == 6 and all(scale > 0 for scale in row["scales"])
    assert row["calibration_texts"] == 20  # the texts the gate does not judge
    assert row["passed"] == (row["label_agreement"] >= 0.995 and row["macro_f1_delta"] <= 0.002)
    monkeypatch.setattr(precision, "bf16_is_native", lambda device: False)
    scorer = Scorer.load(copy, device="cpu", precision="auto")
    assert scorer.precision == ("int8" if row["passed"] else "fp32")
    int8 = Scorer.load(copy, device="cpu", precision="int8")
    assert int8.upper_convs is not None
    fp32 = Scorer.load(copy, device="cpu", precision="fp32").probabilities(TEXTS)
    assert np.abs(int8.probabilities(TEXTS) - fp32).max() < 0.05


@needs_int8
def test_int8_keeps_the_shipped_models_labels():
    """int8 with the scales recorded in models/charcnn/model.json: the labels users see hold.

    Generated reviews and the benchmark's typed ones (real reviews live outside the repo:
    the gate's figure on the validation split is in model.json); a broken quantized
    stack (a wrong scale, a lost bias, the ReLU or a pool in the wrong place) changes many.
    """
    fp32 = Scorer.load(DEFAULT_MODEL_DIR, device="cpu", precision="fp32")
    int8 = Scorer.load(DEFAULT_MODEL_DIR, device="cpu", precision="int8")
    assert int8.card.precision["int8"]["passed"]
    texts = [*synthetic_reviews(400, seed=11), *TYPED_REVIEWS, *(review[:n] for review in TYPED_REVIEWS
                                                                 for n in (5, 20, 60))]
    reference, quantized = fp32.probabilities(texts), int8.probabilities(texts)
    assert (reference.argmax(1) == quantized.argmax(1)).mean() >= 0.99
    assert np.abs(reference - quantized).max() < 0.2
    assert [s.label for s in int8.score(list(TYPED_REVIEWS))] == [s.label for s in fp32.score(list(TYPED_REVIEWS))]


@needs_int8
def test_int8_convs_read_either_memory_layout_the_same():
    """The scorer's gather hands conv1's output over channels-last; a contiguous tensor gives the same values."""
    int8 = Scorer.load(DEFAULT_MODEL_DIR, device="cpu", precision="int8")
    indices, _ = int8.alphabet.encode_batch([*TYPED_REVIEWS, *synthetic_reviews(20, seed=4)], 400)
    with torch.inference_mode():
        gathered = int8.model._gathered_conv1(torch.from_numpy(indices))
        assert not gathered.is_contiguous() and gathered.transpose(1, 2).is_contiguous()
        assert int8.upper_convs is not None
        assert torch.equal(int8.upper_convs(gathered), int8.upper_convs(gathered.contiguous()))


def test_an_unusable_explicit_int8_is_a_clear_cli_error(model_dir, monkeypatch):
    """Reported like an unusable model (exit 2, the message), not a traceback."""
    from typer.testing import CliRunner

    from reviewpulse.cli import app

    monkeypatch.setenv("SCORER_PRECISION", "int8")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["score", "--model", str(model_dir), "nice place"])
    finally:
        monkeypatch.delenv("SCORER_PRECISION")
        get_settings.cache_clear()
    assert result.exit_code == 2 and "no int8 calibration" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
