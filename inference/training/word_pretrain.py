"""Train the word side branch on its own first, fastText-style, then hand it to the CNN.

In joint training the CNN sets the pace: an epoch of 40,000 rows costs ~10 CPU
minutes, so in a few hours the word branch sees each of its 262,144 buckets a few
times, at the CNN's small learning rate, and stays close to its random start. On
its own the branch is three orders of magnitude cheaper (an embedding-bag mean and
one linear layer): a full pass over the v2 corpus takes a few minutes, and one
pass already reaches 0.66 validation macro-F1, more than the joint model had
after three epochs.

:func:`pretrain_word_branch` fits the branch with its own linear head, then folds
that head into the model's output layer (its word columns and bias), so the
joint model starts as the sum of the CNN's and the word model's logits and the
joint epochs fine-tune both.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from inference.model import HIDDEN, CharCNN
from inference.training.corpus import Corpus
from inference.training.metrics import classification_report
from inference.words import select_bags

#: Rows per pretraining step: small enough for many updates per pass, large enough to be cheap.
BATCH_ROWS = 128


def pretrain_word_branch(model: CharCNN, corpus: Corpus, epochs: int, lr: float,
                         draw: Callable[[np.ndarray], np.ndarray]) -> list[dict[str, Any]]:
    """Fit ``model.words`` alone for ``epochs`` passes, fold its head into ``fc3``; the per-epoch reports.

    ``draw(labels)`` picks the positions of one pass (the joint training's own draw,
    so ``--balance`` means the same thing in both phases).
    """
    if model.words is None:
        raise ValueError("--pretrain-words needs a word branch (--word-buckets > 0)")
    head = nn.Linear(model.words.embedding_dim, model.fc3.out_features)
    optimizer = torch.optim.Adam([*model.words.parameters(), *head.parameters()], lr=lr)
    history = []
    for epoch in range(1, epochs + 1):
        rows = corpus.train_rows[draw(corpus.labels[corpus.train_rows])]
        model.words.train()
        for start in tqdm(range(0, len(rows), BATCH_ROWS), desc=f"word branch {epoch}/{epochs}", unit="batch",
                          dynamic_ncols=True):
            batch = rows[start : start + BATCH_ROWS]
            loss = F.cross_entropy(head(_bags(model, corpus, batch)), torch.from_numpy(corpus.labels[batch]))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        if len(corpus.validation_rows):
            report = _validate(model, head, corpus)
            history.append({"epoch": epoch, "macro_f1": report["macro_f1"], "accuracy": report["accuracy"]})
            tqdm.write(f"word branch {epoch}: val macro-F1 {report['macro_f1']:.4f}", file=sys.stderr)
    _fold_head(model, head)
    return history


def _bags(model: CharCNN, corpus: Corpus, rows: np.ndarray) -> torch.Tensor:
    assert corpus.word_ids is not None and corpus.word_offsets is not None and model.words is not None
    ids, offsets = select_bags(corpus.word_ids, corpus.word_offsets, rows)
    return model.words(torch.from_numpy(ids), torch.from_numpy(offsets))


def _validate(model: CharCNN, head: nn.Linear, corpus: Corpus) -> dict[str, Any]:
    rows = corpus.validation_rows
    with torch.no_grad():
        predicted = np.concatenate([head(_bags(model, corpus, rows[start : start + 4096])).argmax(1).numpy()
                                    for start in range(0, len(rows), 4096)])
    return classification_report(corpus.labels[rows], predicted, corpus.reviews.classes)


def _fold_head(model: CharCNN, head: nn.Linear) -> None:
    """fc3(hidden ++ words) = CNN logits + word logits: the word columns take the head's weights."""
    with torch.no_grad():
        model.fc3.weight[:, HIDDEN:] = head.weight
        model.fc3.bias.add_(head.bias)
