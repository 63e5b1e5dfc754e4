"""The small character-level CNN of Zhang, Zhao & LeCun (2015), in one file.

Six 1-D convolutions (256 filters; kernels 7, 7, 3, 3, 3, 3; max-pool 3 after the
1st, 2nd and 6th), then fully connected 1024 -> 1024 -> classes with dropout 0.5.

Two options make a narrower network that trains ~3x faster on a CPU (docs/model.md,
"Training speed on this CPU"): ``filters`` (128 instead of the paper's 256) and
``char_dim``, learned character embeddings of that width in place of the one-hot
input. Training runs conv1 over the embeddings (a small convolution whose backward
is cheap); scoring folds the embeddings into conv1's kernel (the composition of two
linear maps of a one-hot column) and takes the gather path below, unchanged.

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
hidden layer, into the output layer; an optional TF-IDF head
(:mod:`inference.tfidf_head`) stacks a linear word model on the output. Both
paths take the same ``words`` argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from inference.tfidf_head import TfidfHead

#: The paper's filters per convolution; ``CharCNN(filters=...)`` takes another width.
FILTERS = 256
KERNELS = (7, 7, 3, 3, 3, 3)
POOLED_AFTER = (0, 1, 5)  # conv1's pool is built into both forwards
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
#: A replacement for convs 2..6 with their ReLUs and pools (:class:`inference.quantized.Int8Convs`).
UpperConvs = Callable[[torch.Tensor], torch.Tensor]


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
        tfidf_head: bool = False,
        filters: int = FILTERS,
        char_dim: int = 0,
    ) -> None:
        super().__init__()
        self.alphabet_size = alphabet_size
        self.max_length = max_length
        self.features = feature_columns(max_length)
        self.filters = filters
        #: Width of the learned character embeddings; 0 = the paper's one-hot input.
        self.char_dim = char_dim
        #: Buckets of the n-gram bags the model reads (word branch and TF-IDF head share them); 0 = none.
        self.word_buckets = word_buckets if word_dim or tfidf_head else 0
        self.chars = nn.Embedding(alphabet_size + 1, char_dim, padding_idx=0) if char_dim else None
        channels = (char_dim or alphabet_size,) + (filters,) * 5
        self.convs = nn.ModuleList(
            nn.Conv1d(c, filters, k) for c, k in zip(channels, KERNELS, strict=True)
        )
        self.fc1 = nn.Linear(filters * self.features, HIDDEN)
        self.fc2 = nn.Linear(HIDDEN, HIDDEN)
        self.words = (
            nn.EmbeddingBag(word_buckets, word_dim, mode="mean", padding_idx=0) if word_dim and word_buckets else None
        )
        self.fc3 = nn.Linear(HIDDEN + (word_dim if self.words is not None else 0), classes)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("tail", torch.empty(0), persistent=False)
        # Scoring only (see freeze_tail): fc1's weight column-major, and fc1 of the padding tail.
        self.register_buffer("fc1_by_column", torch.empty(0), persistent=False)
        self.register_buffer("fc1_tail", torch.empty(0), persistent=False)
        for module in self.modules():
            if isinstance(module, (nn.Conv1d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                if module.bias is not None:  # every layer here has one
                    nn.init.zeros_(module.bias)
        if self.words is not None:
            self.init_words()
        if self.chars is not None:  # unit vectors' spread, so conv1's Kaiming init sees one-hot-sized inputs
            nn.init.normal_(self.chars.weight, std=char_dim ** -0.5)
            with torch.no_grad():
                self.chars.weight[0].zero_()
        # after the init loop above, which would redraw the head's stacking layer
        self.tfidf = TfidfHead(word_buckets, classes) if tfidf_head and word_buckets else None

    # -- shared pieces -------------------------------------------------------
    def _conv_stack_from(self, first: torch.Tensor) -> torch.Tensor:
        """Run ReLU/pools and convs 2..6 on conv1's output ``(B, 256, L-6)``."""
        return self._upper_convs(F.relu(F.max_pool1d(first, 3)))

    def _upper_convs(self, x: torch.Tensor,
                     observe: Callable[[int, torch.Tensor], None] | None = None) -> torch.Tensor:
        """Convs 2..6 with their ReLUs and pools, on conv1's pooled, ReLU'd output.

        Max-pool runs before ReLU: the two commute exactly (ReLU is monotonic) and
        ReLU then touches a third of the values. ``observe(layer, x)`` sees each
        layer's output (int8 calibration, ``inference.training.precision_gate.calibrate``).
        """
        for layer in range(1, len(self.convs)):
            x = self.convs[layer](x)
            if layer in POOLED_AFTER:
                x = F.max_pool1d(x, 3)
            x = F.relu(x, inplace=True)
            if observe is not None:
                observe(layer, x)
        return x

    def _classify(self, features: torch.Tensor, words: WordBags | None = None) -> torch.Tensor:
        return self._classify_hidden(self.fc1(features.flatten(1)), words)

    def _classify_hidden(self, hidden: torch.Tensor, words: WordBags | None = None) -> torch.Tensor:
        """Everything after fc1's affine map: ReLU, dropout, fc2, the word branch, fc3, the TF-IDF head."""
        x = self.dropout(F.relu(hidden))
        x = self.dropout(F.relu(self.fc2(x)))
        if self.word_buckets and words is None:
            raise ValueError("this model reads word n-grams: pass words=ngram_bags(texts, model.word_buckets)")
        if self.words is not None and words is not None:
            x = torch.cat((x, self.words(*words)), dim=1)
        logits = self.fc3(x)
        if self.tfidf is not None and words is not None:
            return self.tfidf(logits, *words)
        return logits

    def init_words(self) -> None:
        """A fresh random word table; the padding bucket stays zero."""
        assert self.words is not None
        nn.init.normal_(self.words.weight, std=0.1)
        with torch.no_grad():
            self.words.weight[0].zero_()

    def architecture(self) -> dict[str, Any]:
        """The shape beyond alphabet, classes and length, as ``model.json`` records it (``inference.artefact``)."""
        return {"word_buckets": self.word_buckets, "word_dim": self.words.embedding_dim if self.words else 0,
                "tfidf_head": self.tfidf is not None, "filters": self.filters, "char_dim": self.char_dim}

    @property
    def conv1(self) -> nn.Conv1d:
        """The first convolution (a ModuleList item is a plain ``nn.Module`` to the type checker)."""
        return cast(nn.Conv1d, self.convs[0])

    def one_hot_conv1_weight(self) -> torch.Tensor:
        """conv1's kernel over one-hot columns ``(filters, alphabet, k)``; learned embeddings are folded in."""
        if self.chars is None:
            return self.conv1.weight
        return torch.einsum("fek,ae->fak", self.conv1.weight, self.chars.weight[1:])

    # -- reference path ------------------------------------------------------
    def one_hot(self, indices: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` indices -> ``(B, alphabet, L)`` one-hot floats; index 0 is a zero column."""
        encoded = F.one_hot(indices, self.alphabet_size + 1)[..., 1:]
        return encoded.transpose(1, 2).to(self.conv1.weight.dtype)

    def forward_reference(self, indices: torch.Tensor, words: WordBags | None = None) -> torch.Tensor:
        """Logits computed the paper's way: full one-hot input, every column."""
        first = F.conv1d(self.one_hot(indices), self.one_hot_conv1_weight(), self.conv1.bias)
        return self._classify(self._conv_stack_from(first), words)

    # -- fast path -----------------------------------------------------------
    def _first_layer(self, indices: torch.Tensor) -> torch.Tensor:
        """conv1, max-pooled and ReLU'd: over learned embeddings while training, else :meth:`_gathered_conv1`."""
        if self.chars is not None and torch.is_grad_enabled():
            return F.relu(F.max_pool1d(self.conv1(self.chars(indices).transpose(1, 2)), 3))
        return self._gathered_conv1(indices)

    def _gathered_conv1(self, indices: torch.Tensor) -> torch.Tensor:
        """conv1 over one-hot input, already max-pooled and ReLU'd: ``(B, filters, (L-6)//3)``.

        Each output column is a sum of 7 kernel columns picked by the characters
        under the window (an ``embedding_bag``). Every bag takes exactly one row
        from each kernel offset's block, so conv1's bias is folded into offset 0's
        rows. Pooling runs in the gather's own (B, L, 256) layout, before the one
        transpose, on a third of the columns.
        """
        conv1 = self.conv1
        kernel = conv1.weight.shape[-1]
        # (k, alphabet, filters), with a zero row for index 0 at the top of each k.
        columns = F.pad(self.one_hot_conv1_weight().permute(2, 1, 0), (0, 0, 1, 0))
        assert conv1.bias is not None  # nn.Conv1d's default bias=True
        columns = torch.cat((columns[:1] + conv1.bias, columns[1:]))
        table = columns.reshape(-1, columns.shape[-1])
        windows = indices.unfold(1, kernel, 1)  # (B, L-k+1, k)
        offsets = torch.arange(kernel, device=indices.device) * (self.alphabet_size + 1)
        summed = F.embedding_bag((windows + offsets).reshape(-1, kernel), table, mode="sum")
        batch, width = indices.shape[0], windows.shape[1]
        pooled = width // 3
        out = summed.view(batch, width, -1)[:, : pooled * 3].reshape(batch, pooled, 3, -1).amax(2)
        return F.relu(out, inplace=not torch.is_grad_enabled()).transpose(1, 2)  # amax's backward reads its output

    def _features(self, indices: torch.Tensor, upper: UpperConvs | None = None) -> torch.Tensor:
        return (upper or self._upper_convs)(self._first_layer(indices))

    def _zero_tail(self) -> torch.Tensor:
        if self.tail.numel():
            return self.tail
        zeros = torch.zeros(1, self.max_length, dtype=torch.long, device=self.fc1.weight.device)
        return self._features(zeros)

    def freeze_tail(self) -> None:
        """Cache the all-padding feature columns and fc1's response to them; call after loading weights.

        ``fc1_tail[n]`` is fc1's bias plus its weights times feature columns n.. of
        the padding tail, so in eval mode fc1 multiplies only the ``n`` columns a
        pass computed. Costs one column-major copy of fc1's weight (36 MB for the
        paper's model).
        """
        self.tail = torch.empty(0)
        self.fc1_tail = torch.empty(0)
        with torch.no_grad():
            self.tail = self._zero_tail()
            by_column = self.fc1.weight.view(HIDDEN, self.filters, self.features).permute(0, 2, 1)
            per_column = torch.einsum("hfc,cf->fh", by_column, self.tail[0])  # (features, HIDDEN)
            suffix = per_column.flip(0).cumsum(0).flip(0)
            self.fc1_tail = torch.cat((suffix, suffix.new_zeros(1, HIDDEN))) + self.fc1.bias
            self.fc1_by_column = by_column.contiguous()

    def drop_fc1_weight(self) -> None:
        """Free fc1's own weight in a process that only scores (the frozen forward reads ``fc1_by_column``).

        Saves the 34 MB copy :meth:`freeze_tail` made. Training, :meth:`forward_reference`
        and saving need the weight, so only the scoring process (``inference.process_scorer``) calls this.
        """
        if not self.fc1_tail.numel():
            raise RuntimeError("drop_fc1_weight() needs freeze_tail() first")
        self.fc1.weight = nn.Parameter(self.fc1.weight.new_empty(0), requires_grad=False)

    def forward(
        self, indices: torch.Tensor, lengths: torch.Tensor | None = None, words: WordBags | None = None,
        upper: UpperConvs | None = None,
    ) -> torch.Tensor:
        """Logits for ``(B, max_length)`` indices; ``lengths`` (texts' columns) lets it skip padding.

        ``upper``: what runs convs 2..6 in eval mode after :meth:`freeze_tail` (the
        scorer's int8 stack, :mod:`inference.quantized`); None = the fp32 layers.
        """
        if lengths is None or not len(lengths):
            needed = self.features
        else:
            needed = math.ceil(int(lengths.max()) / COLUMNS_PER_FEATURE)
        needed = min(max(needed, 1), self.features)
        if self.fc1_tail.numel() and not self.training:
            return self._frozen_forward(indices, needed, words, upper)
        if needed == self.features:
            return self._classify(self._features(indices), words)
        columns = COLUMNS_PER_FEATURE * needed + FEATURE_CONTEXT
        head = self._features(indices[:, :columns])
        tail = self._zero_tail()[:, :, needed:].expand(indices.shape[0], -1, -1)
        return self._classify(torch.cat((head, tail), dim=2), words)

    def _frozen_forward(
        self, indices: torch.Tensor, needed: int, words: WordBags | None, upper: UpperConvs | None = None
    ) -> torch.Tensor:
        """Eval-mode forward after :meth:`freeze_tail`: conv stack and fc1 over the first ``needed`` columns."""
        columns = min(COLUMNS_PER_FEATURE * needed + FEATURE_CONTEXT, self.max_length)
        if needed == self.features:
            columns = self.max_length
        head = self._features(indices[:, :columns], upper)[:, :, :needed]
        flat = head.transpose(1, 2).reshape(indices.shape[0], needed * self.filters)
        weight = self.fc1_by_column[:, :needed].reshape(HIDDEN, needed * self.filters)
        return self._classify_hidden(F.linear(flat, weight) + self.fc1_tail[needed], words)
