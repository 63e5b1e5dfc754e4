"""The char-CNN: shapes, and the fast exact forward against the paper's forward."""

import torch

from inference.encoding import Alphabet
from inference.model import CharCNN, feature_columns


def test_feature_columns_for_paper_length():
    assert feature_columns(1014) == 34


def test_output_shapes():
    model = CharCNN(70, 3).eval()
    indices = torch.zeros(4, 1014, dtype=torch.long)
    assert model(indices).shape == (4, 3)
    assert model.forward_reference(indices).shape == (4, 3)
    assert model.fc1.in_features == 256 * 34


def test_fast_forward_equals_reference_on_mixed_lengths():
    torch.manual_seed(0)
    model = CharCNN(70, 3).eval()
    texts = ["", "short", "a longer review, with punctuation!\nand lines", "x" * 300, "y" * 1500]
    indices, lengths = Alphabet().encode_batch(texts)
    indices, lengths = torch.from_numpy(indices), torch.from_numpy(lengths)
    with torch.no_grad():
        reference = model.forward_reference(indices)
        computed_tail = model(indices, lengths)
        model.freeze_tail()
        cached_tail = model(indices, lengths)
    assert torch.allclose(reference, computed_tail, atol=1e-4)
    assert torch.allclose(reference, cached_tail, atol=1e-4)


def test_fast_forward_gradients_match_reference():
    torch.manual_seed(1)
    model = CharCNN(70, 3, dropout=0.0)
    indices, lengths = Alphabet().encode_batch(["good food", "awful, never again"])
    indices, lengths = torch.from_numpy(indices), torch.from_numpy(lengths)
    model.forward_reference(indices).sum().backward()
    reference = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model(indices, lengths).sum().backward()
    for expected, param in zip(reference, model.parameters(), strict=True):
        assert torch.allclose(expected, param.grad, atol=1e-4, rtol=1e-3)


def test_frozen_forward_with_fc1_tail_equals_reference_at_every_width():
    torch.manual_seed(2)
    model = CharCNN(70, 3).eval()
    texts = [""] + ["word, " * (27 * n // 6 + 1) for n in range(1, 36)]  # every needed column count 1..34
    indices, lengths = Alphabet().encode_batch(texts)
    indices, lengths = torch.from_numpy(indices), torch.from_numpy(lengths)
    model.freeze_tail()
    assert model.fc1_tail.shape == (35, 1024)
    with torch.no_grad():
        reference = model.forward_reference(indices)
        each = torch.cat([model(indices[i : i + 1], lengths[i : i + 1]) for i in range(len(texts))])
        together = model(indices, lengths)
    assert torch.allclose(reference, each, atol=1e-5)
    assert torch.allclose(reference, together, atol=1e-5)


def test_training_mode_ignores_the_frozen_fc1_tail():
    torch.manual_seed(3)
    model = CharCNN(70, 3, dropout=0.0)
    model.freeze_tail()
    indices, lengths = Alphabet().encode_batch(["fine"])
    model(torch.from_numpy(indices), torch.from_numpy(lengths)).sum().backward()
    assert model.fc1.weight.grad is not None and model.fc1.weight.grad.abs().sum() > 0


def test_a_scoring_process_scores_the_same_without_fc1_s_own_weight():
    torch.manual_seed(4)
    model = CharCNN(70, 3).eval()
    indices, lengths = Alphabet().encode_batch(["fine", "cold food " * 40, ""])
    indices, lengths = torch.from_numpy(indices), torch.from_numpy(lengths)
    try:
        model.drop_fc1_weight()
    except RuntimeError as error:
        assert "freeze_tail() first" in str(error)
    else:
        raise AssertionError("dropped fc1's weight before the frozen copy existed")
    model.freeze_tail()
    with torch.no_grad():
        before = model(indices, lengths)
        model.drop_fc1_weight()
        after = model(indices, lengths)
    assert model.fc1.weight.numel() == 0
    assert torch.equal(before, after)


def test_a_narrow_model_with_learned_characters_scores_as_it_trains():
    """Training convolves the embeddings; scoring folds them into conv1's gather: the same logits, and they learn."""
    torch.manual_seed(3)
    model = CharCNN(70, 3, filters=32, char_dim=8).eval()
    assert model.fc1.in_features == 32 * 34 and model.conv1.in_channels == 8
    assert model.architecture()["filters"] == 32 and model.architecture()["char_dim"] == 8
    texts = ["", "short", "a longer review, with punctuation!\nand lines", "x" * 300, "y" * 1500]
    indices, lengths = Alphabet().encode_batch(texts)
    indices, lengths = torch.from_numpy(indices), torch.from_numpy(lengths)
    trained_path = model(indices, lengths)  # grad enabled: embeddings through conv1
    with torch.no_grad():
        gathered = model(indices, lengths)
        reference = model.forward_reference(indices)
        model.freeze_tail()
        frozen = model(indices, lengths)
    for other in (gathered, reference, frozen):
        assert torch.allclose(trained_path, other, atol=1e-4)
    trained_path.sum().backward()
    assert model.chars is not None and model.chars.weight.grad is not None
    assert model.chars.weight.grad[1:].abs().sum() > 0 and not model.chars.weight.grad[0].any()  # padding stays zero
