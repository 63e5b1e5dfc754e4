"""Training objectives: plain cross-entropy, and two that know the classes are ordered.

The labels are ordered (bad < average < good, or 1 < ... < 5 stars), and the weak class is
the middle one: plain cross-entropy charges "good" for a 3-star review exactly what it
charges "bad" for a 5-star one. Both ordinal objectives keep the softmax head, so serving,
calibration and the precision gates see the same kind of model:

* ``neighbour``: cross-entropy against a target that gives ``weight`` of its mass to the
  adjacent classes (split between them in the middle), none to farther ones — label
  smoothing toward the neighbouring class.
* ``emd``: cross-entropy plus ``weight`` times the squared earth mover's distance between
  the predicted and the true class distribution, the squared gap between their cumulative
  sums (Hou, Yu & Samaras 2016): a confident prediction two classes off costs twice one
  class off, where cross-entropy charges both alike.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LOSSES = ("ce", "neighbour", "emd")


def neighbour_targets(labels: torch.Tensor, classes: int, weight: float) -> torch.Tensor:
    """Soft targets: ``1 - weight`` on the label, ``weight`` shared by the classes next to it."""
    targets = torch.zeros(len(labels), classes, dtype=torch.float32, device=labels.device)
    rows = torch.arange(len(labels), device=labels.device)
    below, above = labels - 1, labels + 1
    has_below, has_above = below >= 0, above < classes
    share = weight / (has_below.float() + has_above.float()).clamp(min=1.0)
    targets[rows, labels] = 1.0 - weight * (has_below | has_above).float()
    targets[rows[has_below], below[has_below]] = share[has_below]
    targets[rows[has_above], above[has_above]] = share[has_above]
    return targets


def squared_emd(probabilities: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean over rows of the squared distance between predicted and true cumulative distributions."""
    truth = F.one_hot(labels, probabilities.shape[1]).float()
    gap = torch.cumsum(probabilities, dim=1) - torch.cumsum(truth, dim=1)
    return (gap**2).sum(dim=1).mean()


def training_loss(logits: torch.Tensor, labels: torch.Tensor, loss: str, weight: float) -> torch.Tensor:
    """The objective ``loss`` (one of :data:`LOSSES`) on fp32 ``logits``."""
    if loss == "ce":
        return F.cross_entropy(logits, labels)
    if loss == "neighbour":
        targets = neighbour_targets(labels, logits.shape[1], weight)
        return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()
    if loss == "emd":
        return F.cross_entropy(logits, labels) + weight * squared_emd(F.softmax(logits, dim=1), labels)
    raise ValueError(f"--loss must be one of {', '.join(LOSSES)}, not {loss!r}")
