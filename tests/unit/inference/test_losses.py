"""The ordinal objectives: proper targets, gradients that flow, and order respected on a toy set."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from inference.training.losses import LOSSES, neighbour_targets, squared_emd, training_loss


def test_neighbour_targets_sum_to_one_and_only_touch_adjacent_classes() -> None:
    targets = neighbour_targets(torch.tensor([0, 1, 2]), 3, 0.2)
    assert torch.allclose(targets.sum(dim=1), torch.ones(3))
    assert torch.allclose(targets, torch.tensor([[0.8, 0.2, 0.0], [0.1, 0.8, 0.1], [0.0, 0.2, 0.8]]))
    five = neighbour_targets(torch.tensor([0, 2, 4]), 5, 0.1)
    assert five[0, 2:].sum() == 0 and five[1, 0] == 0 and five[1, 4] == 0 and five[2, :3].sum() == 0


def test_squared_emd_grows_with_the_distance_between_classes() -> None:
    labels = torch.tensor([0])
    one_off, two_off = torch.tensor([[0.0, 1.0, 0.0]]), torch.tensor([[0.0, 0.0, 1.0]])
    assert squared_emd(torch.tensor([[1.0, 0.0, 0.0]]), labels) == 0
    assert squared_emd(two_off, labels) == pytest.approx(2 * float(squared_emd(one_off, labels)))


@pytest.mark.parametrize("loss", LOSSES)
def test_gradients_flow_and_the_loss_is_finite(loss: str) -> None:
    logits = torch.randn(8, 3, requires_grad=True)
    value = training_loss(logits, torch.tensor([0, 1, 2, 1, 0, 2, 1, 1]), loss, 0.2)
    value.backward()
    assert torch.isfinite(value) and logits.grad is not None and logits.grad.abs().sum() > 0


@pytest.mark.parametrize("loss", ["neighbour", "emd"])
def test_ordinal_losses_charge_a_far_mistake_more_than_a_near_one(loss: str) -> None:
    """Equal confidence on the wrong class: plain cross-entropy charges both alike, these do not."""
    labels = torch.tensor([0])
    near, far = torch.tensor([[0.0, 4.0, 0.0]]), torch.tensor([[0.0, 0.0, 4.0]])
    assert F.cross_entropy(near, labels) == pytest.approx(float(F.cross_entropy(far, labels)))
    assert training_loss(far, labels, loss, 0.2) > training_loss(near, labels, loss, 0.2)


@pytest.mark.parametrize("loss", LOSSES)
def test_a_toy_ordinal_problem_is_learned_in_order(loss: str) -> None:
    """One feature, three ordered classes: the trained softmax gives probabilities that sum to 1 and
    put the middle of the feature's range in the middle class."""
    torch.manual_seed(0)
    x = torch.linspace(-3, 3, 300).unsqueeze(1)
    labels = torch.bucketize(x.squeeze(1), torch.tensor([-1.0, 1.0]))
    layer = torch.nn.Linear(1, 3)
    optimizer = torch.optim.Adam(layer.parameters(), lr=0.05)
    for _ in range(300):
        optimizer.zero_grad()
        training_loss(layer(x), labels, loss, 0.2).backward()
        optimizer.step()
    probabilities = F.softmax(layer(torch.tensor([[-2.5], [0.0], [2.5]])), dim=1)
    assert torch.allclose(probabilities.sum(dim=1), torch.ones(3))
    assert probabilities.argmax(dim=1).tolist() == [0, 1, 2]
    assert (F.softmax(layer(x), dim=1).argmax(dim=1) == labels).float().mean() > 0.9


def test_an_unknown_loss_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="ce, neighbour, emd"):
        training_loss(torch.zeros(1, 3), torch.tensor([0]), "hinge", 0.1)
