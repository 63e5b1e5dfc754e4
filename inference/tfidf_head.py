"""A TF-IDF word model stacked on the char-CNN's output: the network's last step when present.

On every unseen review site the project measured, TF-IDF + logistic regression on
word 1-2-grams beat the char-CNN, and the two make different mistakes. So a model
may end in this head: the logits of a linear model over TF-IDF-weighted hashed
n-grams (the same buckets as :mod:`inference.words`: sublinear term frequency times
idf, L2-normalised per text, as scikit-learn's ``TfidfVectorizer(sublinear_tf=True)``
computes them) and the CNN's log-probabilities go through one small linear layer,
fitted on rows neither part trained on (:mod:`inference.training.stacking`).

It is part of the ``nn.Module``, so both forward paths, the precision gate, save and
load see it like any other layer. It always runs in fp32: three numbers per text.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def tfidf_weights(ids: torch.Tensor, offsets: torch.Tensor, idf: torch.Tensor) -> torch.Tensor:
    """Per-occurrence weights whose sum per (text, bucket) is that text's L2-normalised TF-IDF value.

    ``ids``/``offsets`` are ``ngram_bags``'s flat bucket ids (duplicates kept) and
    per-text starts; an n-gram seen ``c`` times in a text has TF-IDF ``(1 + ln c) * idf``
    and each of its ``c`` occurrences carries a ``c``-th of it, so ``embedding_bag``
    in ``sum`` mode over the unchanged ids gives the TF-IDF dot product. float64, so the
    fit (:func:`inference.training.stacking.tfidf_matrix`) reads the same values.
    Counted with numpy on the CPU; only the idf values the batch needs are gathered.
    """
    flat = ids.cpu().numpy().astype(np.int64)
    if not len(flat):
        return torch.zeros(0, dtype=torch.float64, device=ids.device)
    starts = offsets.cpu().numpy()
    buckets = idf.shape[0]
    text = np.repeat(np.arange(len(starts), dtype=np.int64), np.diff(starts, append=len(flat)))
    keys, inverse, counts = np.unique(text * buckets + flat, return_inverse=True, return_counts=True)
    values = (1 + np.log(counts)) * idf.detach().cpu().numpy()[keys % buckets].astype(np.float64)
    owner = keys // buckets
    norms = np.bincount(owner, weights=values * values, minlength=len(starts))
    weights = values / np.maximum(np.sqrt(norms), 1e-12)[owner]
    return torch.from_numpy((weights / counts)[inverse]).to(ids.device)


class TfidfHead(nn.Module):
    """``stack([log_softmax(cnn logits), tfidf logits])``: the stacked output layer."""

    idf: torch.Tensor  # a buffer

    def __init__(self, buckets: int, classes: int) -> None:
        super().__init__()
        #: Inverse document frequency per bucket; 0 for bucket 0 (a text without words).
        self.register_buffer("idf", torch.zeros(buckets))
        #: The word model's coefficients, one row per bucket (an embedding table for ``embedding_bag``).
        self.coef = nn.Parameter(torch.zeros(buckets, classes))
        self.intercept = nn.Parameter(torch.zeros(classes))
        self.stack = nn.Linear(2 * classes, classes)
        with torch.no_grad():  # until fitted: the CNN's log-probabilities unchanged
            self.stack.weight.zero_()
            self.stack.weight[:, :classes] = torch.eye(classes)
            self.stack.bias.zero_()

    def word_logits(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        """The TF-IDF model's decision function, ``(texts, classes)``."""
        weights = tfidf_weights(ids, offsets, self.idf).to(self.coef.dtype)
        return F.embedding_bag(ids, self.coef, offsets, mode="sum", per_sample_weights=weights) + self.intercept

    def forward(self, cnn_logits: torch.Tensor, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        with torch.autocast(cnn_logits.device.type, enabled=False):
            joined = torch.cat((F.log_softmax(cnn_logits.float(), dim=1), self.word_logits(ids, offsets)), dim=1)
            return self.stack(joined)
