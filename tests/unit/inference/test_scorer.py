"""The scorer: round trip, batch equals one-by-one, bad input, corrupted artefacts."""

import json

import numpy as np
import pytest

from inference.artefact import ArtefactError, save_artefact, save_untrained
from inference.scorer import Scorer
from inference.verdicts import sentiment_score, suggested_rating

TEXTS = ["Loved it, will come back!", "", "cold food and rude staff " * 80, "ok\nI guess", "é😀"]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_untrained(tmp_path_factory.mktemp("model"), seed=3, name="t", version="t-1")


def test_round_trip_gives_identical_outputs(model_dir, tmp_path):
    first = Scorer.load(model_dir, device="cpu")
    copy = save_artefact(first.model, first.card, tmp_path / "copy")
    second = Scorer.load(copy, device="cpu")
    assert np.array_equal(first.probabilities(TEXTS), second.probabilities(TEXTS))


def test_batch_equals_one_by_one(model_dir):
    scorer = Scorer.load(model_dir, device="cpu")
    batch = scorer.probabilities(TEXTS)
    single = np.concatenate([scorer.probabilities([text]) for text in TEXTS])
    assert np.abs(batch - single).max() <= 1e-5


def test_scores_follow_the_formulas(model_dir):
    scorer = Scorer.load(model_dir, device="cpu")
    for result in scorer.score(TEXTS):
        bad, average, good = result.probs
        assert abs(bad + average + good - 1) < 1e-5
        assert result.score == pytest.approx(average * 0.5 + good)
        assert result.suggested_rating == min(int(result.score * 5 + 1), 5)
        assert result.label == ("bad", "average", "good")[int(np.argmax(result.probs))]


def test_suggested_rating_edges():
    assert [suggested_rating(s) for s in (0.0, 0.19, 0.2, 0.5, 0.99, 1.0)] == [1, 1, 2, 3, 5, 5]
    assert sentiment_score([0.2, 0.4, 0.4], ["bad", "average", "good"]) == pytest.approx(0.6)


def test_empty_list_and_non_strings(model_dir):
    scorer = Scorer.load(model_dir, device="cpu")
    assert scorer.score([]) == []
    with pytest.raises(TypeError, match=r"texts\[1\] is int"):
        scorer.score(["fine", 3])
    with pytest.raises(TypeError, match="not a single str"):
        scorer.score("fine")


def test_fp16_artefact_is_close_to_fp32(model_dir, tmp_path):
    fp32 = Scorer.load(model_dir, device="cpu")
    half_dir = save_artefact(fp32.model, fp32.card, tmp_path / "half", half=True)
    assert (half_dir / "model.safetensors").stat().st_size < (model_dir / "model.safetensors").stat().st_size * 0.6
    fp16 = Scorer.load(half_dir, device="cpu")
    assert np.abs(fp16.probabilities(TEXTS) - fp32.probabilities(TEXTS)).max() < 1e-2


def test_missing_card_names_the_file(tmp_path):
    with pytest.raises(ArtefactError, match="model.json: missing"):
        Scorer.load(tmp_path)


def test_corrupted_weights_name_the_file(model_dir, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.json").write_text((model_dir / "model.json").read_text())
    (broken / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ArtefactError, match="model.safetensors: cannot be read"):
        Scorer.load(broken)


def test_incompatible_card_names_the_file(model_dir, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    card = json.loads((model_dir / "model.json").read_text())
    card["classes"] = ["bad", "good"]
    (other / "model.json").write_text(json.dumps(card))
    (other / "model.safetensors").write_bytes((model_dir / "model.safetensors").read_bytes())
    with pytest.raises(ArtefactError, match="fc3.*do not match"):
        Scorer.load(other)


def test_invalid_json_card(tmp_path):
    (tmp_path / "model.json").write_text("{not json")
    with pytest.raises(ArtefactError, match="not a valid model card"):
        Scorer.load(tmp_path)


def test_length_bucketed_passes_equal_one_pass(model_dir):
    scorer = Scorer.load(model_dir, device="cpu")
    texts = TEXTS * 3
    assert np.abs(scorer.probabilities(texts, passes=4) - scorer.probabilities(texts)).max() <= 1e-5
