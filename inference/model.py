"""The small character-level CNN of Zhang, Zhao & LeCun (2015), in one file.

Six 1-D convolutions (256 filters; kernels 7, 7, 3, 3, 3, 3; max-pool 3 after the
1st, 2nd and 6th), then fully connected 1024 -> 1024 -> classes with dropout 0.5.

Two forward paths give the same numbers:

* :meth:`CharCNN.forward_reference` builds the one-hot input and runs every
  convolution on all ``max_length`` columns, as the paper (and the original app) did.
* :meth:`CharCNN.forward` does less arithmetic, exactly:

  - conv1 over one-hot columns is a gather: output column t is the bias plus the
    sum of 7 kernel columns picked by the characters under the window (an
    ``embedding_bag``). No 70-channel multiply.
  - final feature column j depends only on input columns [27j, 27j+104]. Text sits
    at the start (it is reversed), the rest is zeros, so every column with
    27j >= len(text) equals that column for an all-zero input. The stack runs on
    the first 27*J + 96 columns only (J = ceil(longest/27)) and the constant tail
    is appended. Training computes the tail from one zero row per batch (so
    gradients are right); scoring caches it (:meth:`freeze_tail`).

An optional word side branch (``word_buckets > 0``, see :mod:`inference.words`)
averages hashed word n-gram embeddings and feeds them, next to the CNN's last
hidden layer, into the output layer. Both paths take the same ``words`` argument.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

FILTERS = 256
KERNELS = (7, 7, 3, 3, 3, 3)
POOLED_AFTER = (0, 1, 5)
HIDDEN = 1024
#: Input columns covered by one final feature column, and the extra context.
COLUMNS_PER_FEATURE = 27
FEATURE_CONTEXT = 96


def feature_columns(max_length: int) -> int:
    """Number of feature columns the conv stack leaves for an input of ``max_length``."""
    length = max_length
    for layer, kernel in enumerate(KERNELS):
        length -= kernel - 1
        if layer in POOLED_AFTER:
            length //= 3
    if length < 1:
        raise ValueError(f"max_length {max_length} is too short for the char-CNN (minimum 123)")
    return length


#: ``(flat bucket ids, per-text offsets)`` as :func:`inference.words.ngram_bags` makes them.
WordBags = tuple[torch.Tensor, torch.Tensor]


class CharCNN(nn.Module):
    """Zhang et al.'s small char-CNN over alphabet indices (0 = zero column)."""

    def __init__(
        self,
        alphabet_size: int,
        classes: int,
        max_length: int = 1014,
        dropout: float = 0.5,
        word_buckets: int = 0,
        word_dim: int = 0,
    ) -> None:
        super().__init__()
        self.alphabet_size = alphabet_size
        self.max_length = max_length
        self.features = feature_columns(max_length)
        self.word_buckets = word_buckets if word_dim else 0
        channels = (alphabet_size,) + (FILTERS,) * 5
        self.convs = nn.ModuleList(
            nn.Conv1d(c, FILTERS, k) for c, k in zip(channels, KERNELS, strict=True)
        )
        self.fc1 = nn.Linear(FILTERS * self.features, HIDDEN)
        self.fc2 = nn.Linear(HIDDEN, HIDDEN)
        self.words = (
            nn.EmbeddingBag(word_buckets, word_dim, mode="mean", padding_idx=0) if self.word_buckets else None
        )
        self.fc3 = nn.Linear(HIDDEN + (word_dim if self.words is not None else 0), classes)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("tail", torch.empty(0), persistent=False)
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
        if self.words is not None:
            nn.init.normal_(self.words.weight, std=0.1)
            with torch.no_grad():
                self.words.weight[0].zero_()

    # -- shared pieces -------------------------------------------------------
    def _conv_stack_from(self, first: torch.Tensor) -> torch.Tensor:
        """Run ReLU/pools and convs 2..6 on conv1's output ``(B, 256, L-6)``."""
        x = first
        for layer, conv in enumerate(self.convs):
            if layer > 0:
                x = conv(x)
            x = F.relu(x)
            if layer in POOLED_AFTER:
                x = F.max_pool1d(x, 3)
        return x

    def _classify(self, features: torch.Tensor, words: WordBags | None = None) -> torch.Tensor:
        x = self.dropout(F.relu(self.fc1(features.flatten(1))))
        x = self.dropout(F.relu(self.fc2(x)))
        if self.words is not None:
            if words is None:
                raise ValueError("this model has a word branch: pass words=ngram_bags(texts, ...)")
            x = torch.cat((x, self.words(*words)), dim=1)
        return self.fc3(x)

    # -- reference path ------------------------------------------------------
    def one_hot(self, indices: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` indices -> ``(B, alphabet, L)`` one-hot floats; index 0 is a zero column."""
        encoded = F.one_hot(indices, self.alphabet_size + 1)[..., 1:]
        return encoded.transpose(1, 2).to(self.convs[0].weight.dtype)

    def forward_reference(self, indices: torch.Tensor, words: WordBags | None = None) -> torch.Tensor:
        """Logits computed the paper's way: full one-hot input, every column."""
        x = self._conv_stack_from(self.convs[0](self.one_hot(indices)))
        return self._classify(x, words)

    # -- fast path -----------------------------------------------------------
    def _gathered_conv1(self, indices: torch.Tensor) -> torch.Tensor:
        """conv1 over one-hot input as a sum of gathered kernel columns."""
        conv1 = self.convs[0]
        kernel = conv1.weight.shape[-1]
        # (k, alphabet, filters), with a zero row for index 0 at the top of each k.
        columns = conv1.weight.permute(2, 1, 0)
        columns = F.pad(columns, (0, 0, 1, 0))
        table = columns.reshape(-1, columns.shape[-1])
        windows = indices.unfold(1, kernel, 1)  # (B, L-k+1, k)
        offsets = torch.arange(kernel, device=indices.device) * (self.alphabet_size + 1)
        bags = (windows + offsets).reshape(-1, kernel)
        summed = F.embedding_bag(bags, table, mode="sum")
        batch = indices.shape[0]
        out = summed.view(batch, -1, table.shape[-1]) + conv1.bias
        return out.transpose(1, 2)

    def _features(self, indices: torch.Tensor) -> torch.Tensor:
        return self._conv_stack_from(self._gathered_conv1(indices))

    def _zero_tail(self) -> torch.Tensor:
        if self.tail.numel():
            return self.tail
        zeros = torch.zeros(1, self.max_length, dtype=torch.long, device=self.fc1.weight.device)
        return self._features(zeros)

    def freeze_tail(self) -> None:
        """Cache the all-padding feature columns; call after loading weights, for inference."""
        self.tail = torch.empty(0)
        with torch.no_grad():
            self.tail = self._zero_tail()

    def forward(
        self, indices: torch.Tensor, lengths: torch.Tensor | None = None, words: WordBags | None = None
    ) -> torch.Tensor:
        """Logits for ``(B, max_length)`` indices; ``lengths`` (texts' columns) lets it skip padding."""
        if lengths is None or not len(lengths):
            needed = self.features
        else:
            needed = math.ceil(int(lengths.max()) / COLUMNS_PER_FEATURE)
        needed = min(max(needed, 1), self.features)
        if needed == self.features:
            return self._classify(self._features(indices), words)
        columns = COLUMNS_PER_FEATURE * needed + FEATURE_CONTEXT
        head = self._features(indices[:, :columns])
        tail = self._zero_tail()[:, :, needed:].expand(indices.shape[0], -1, -1)
        return self._classify(torch.cat((head, tail), dim=2), words)
