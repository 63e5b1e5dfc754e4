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
