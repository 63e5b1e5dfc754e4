"""The fast retraining strategy: keep the char-CNN, learn a new output layer and a word branch.

Fine-tuning the whole char-CNN on a few thousand in-domain reviews barely moves it
(when tried: 0.62 -> 0.64 macro-F1), while a word model learns a site's
vocabulary from the same rows at once. So this strategy freezes the convolutions
and fc1/fc2 of the active model, computes their 1024 hidden features once per row
(one scoring pass), and trains only what sits on top: the hashed word n-gram
branch (:mod:`inference.words`) and the output layer ``fc3``, which starts from the
active model's. Each epoch is then a few matrix products, so dozens of epochs over
cached features take seconds on a CPU.

The result is an ordinary artefact (``CharCNN`` with ``word_buckets``), loaded by
``Scorer.load`` like any other: scoring costs one hashed bag lookup more per review.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from inference.encoding import Alphabet
from inference.model import HIDDEN, CharCNN
from inference.training.calibration import balanced_weights, fit_class_bias
from inference.training.metrics import classification_report
from inference.words import ngram_bags, select_bags

FEATURE_BATCH = 64


@dataclass
class HeadOptions:
    epochs: int = 30
    batch_size: int = 64
    #: Learning rate of the output layer's CNN columns (they start from the active model).
    lr: float = 1e-3
    #: Learning rate of the word branch and its output columns (they start from nothing).
    word_lr: float = 2e-2
    word_buckets: int = 1 << 17
    word_dim: int = 32
    #: Pull of the CNN columns of fc3 back towards the active model's (L2), so replay is not all that holds them.
    anchor: float = 1e-3
    seed: int = 42
    #: Fit class biases on the dev rows. Off: the loss is already class-balanced, and biases fitted on
    #: dev rows that mix replay and in-domain reviews cost 0.03 macro-F1 in-domain (skytrax, N=3000).
    calibrate: bool = False


def hidden_features(model: CharCNN, alphabet: Alphabet, texts: list[str], progress: bool = True) -> np.ndarray:
    """The 1024 inputs fc3 receives from the CNN (eval mode), one row per text; batched by length."""
    model.eval()
    model.freeze_tail()
    captured: list[torch.Tensor] = []
    hook = model.fc3.register_forward_hook(lambda _m, inputs, _out: captured.append(inputs[0][:, :HIDDEN]))
    lengths = np.fromiter((min(len(t), model.max_length) for t in texts), dtype=np.int64, count=len(texts))
    order = np.argsort(lengths, kind="stable")
    features = np.zeros((len(texts), HIDDEN), dtype=np.float32)
    try:
        with torch.inference_mode():
            starts = range(0, len(order), FEATURE_BATCH)
            for start in tqdm(starts, desc="cnn features", unit="batch", disable=not progress):
                rows = order[start : start + FEATURE_BATCH]
                batch = [texts[i] for i in rows]
                indices, batch_lengths = alphabet.encode_batch(batch, model.max_length)
                words = None
                if model.word_buckets:
                    ids, offsets = ngram_bags(batch, model.word_buckets)
                    words = (torch.from_numpy(ids), torch.from_numpy(offsets))
                captured.clear()
                model(torch.from_numpy(np.asarray(indices, dtype=np.int64)), torch.from_numpy(batch_lengths), words)
                features[rows] = captured[-1].float().numpy()
    finally:
        hook.remove()
    return features


class Head(nn.Module):
    """fc3 over [CNN hidden features, mean word n-gram embedding]: the part that is retrained."""

    anchor_weight: torch.Tensor  # a buffer: the parent's fc3 CNN columns, which the anchor penalty pulls toward

    def __init__(self, parent: CharCNN, options: HeadOptions) -> None:
        super().__init__()
        classes = parent.fc3.out_features
        keep_words = parent.words is not None
        buckets = parent.word_buckets if keep_words else options.word_buckets
        dim = parent.words.embedding_dim if parent.words is not None else options.word_dim
        # sparse gradients: a step touches only the rows of the batch's n-grams (SparseAdam)
        self.words = nn.EmbeddingBag(buckets, dim, mode="mean", padding_idx=0, sparse=True)
        self.cnn_out = nn.Linear(HIDDEN, classes)
        self.word_out = nn.Linear(dim, classes, bias=False)
        with torch.no_grad():
            if parent.words is not None:
                self.words.weight.copy_(parent.words.weight)
                self.word_out.weight.copy_(parent.fc3.weight[:, HIDDEN:])
            else:
                nn.init.normal_(self.words.weight, std=0.1)
                self.words.weight[0].zero_()
                self.word_out.weight.zero_()
            self.cnn_out.weight.copy_(parent.fc3.weight[:, :HIDDEN])
            self.cnn_out.bias.copy_(parent.fc3.bias)
        self.register_buffer("anchor_weight", parent.fc3.weight[:, :HIDDEN].detach().clone())

    def forward(self, hidden: torch.Tensor, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.cnn_out(hidden) + self.word_out(self.words(ids, offsets))


def _bags(bags: tuple[np.ndarray, np.ndarray], rows: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    ids, offsets = select_bags(bags[0], bags[1], rows)
    return torch.from_numpy(ids), torch.from_numpy(offsets)


def _logits(head: Head, hidden: np.ndarray, bags: tuple[np.ndarray, np.ndarray], rows: np.ndarray) -> np.ndarray:
    head.eval()
    with torch.no_grad():
        return head(torch.from_numpy(hidden[rows]), *_bags(bags, rows)).numpy()


def train_head(
    parent: CharCNN, hidden: np.ndarray, texts: list[str], labels: np.ndarray, weights: np.ndarray,
    train_rows: np.ndarray, dev_rows: np.ndarray, options: HeadOptions, progress: bool = True,
) -> tuple[Head, np.ndarray, dict[str, Any]]:
    """Train the head; returns it at its best dev macro-F1, the class biases fitted on dev, and a report.

    ``weights`` multiply each row's loss (admin labels weigh more); classes are
    balanced on top, because macro-F1 is what the gates judge.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: more threads only spin (30x slower on a loaded 2-core box)
    try:
        return _train_head(parent, hidden, texts, labels, weights, train_rows, dev_rows, options, progress)
    finally:
        torch.set_num_threads(threads)


def _train_head(parent: CharCNN, hidden: np.ndarray, texts: list[str], labels: np.ndarray, weights: np.ndarray,
                train_rows: np.ndarray, dev_rows: np.ndarray, options: HeadOptions, progress: bool
                ) -> tuple[Head, np.ndarray, dict[str, Any]]:
    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    head = Head(parent, options)
    bags = ngram_bags(texts, head.words.num_embeddings)
    classes = parent.fc3.out_features
    row_weights = weights * balanced_weights(labels, classes) * len(labels) / classes
    dense = torch.optim.Adam([
        {"params": list(head.cnn_out.parameters()), "lr": options.lr},
        {"params": [head.word_out.weight], "lr": options.word_lr},
    ])
    sparse = torch.optim.SparseAdam([head.words.weight], lr=options.word_lr)
    best = (-1.0, 0, {k: v.clone() for k, v in head.state_dict().items()})
    history = []
    epochs = tqdm(range(1, options.epochs + 1), desc="retrain head", unit="epoch", disable=not progress)
    for epoch in epochs:
        head.train()
        order = train_rows[rng.permutation(len(train_rows))]
        for start in range(0, len(order), options.batch_size):
            rows = order[start : start + options.batch_size]
            logits = head(torch.from_numpy(hidden[rows]), *_bags(bags, rows))
            loss = F.cross_entropy(logits, torch.from_numpy(labels[rows]), reduction="none")
            loss = (loss * torch.from_numpy(row_weights[rows]).float()).mean()
            loss = loss + options.anchor * ((head.cnn_out.weight - head.anchor_weight) ** 2).sum()
            dense.zero_grad(set_to_none=True)
            sparse.zero_grad(set_to_none=True)
            loss.backward()
            dense.step()
            sparse.step()
        dev = _logits(head, hidden, bags, dev_rows).argmax(1)
        f1 = classification_report(labels[dev_rows], dev, [str(c) for c in range(classes)])["macro_f1"]
        history.append({"epoch": epoch, "dev_macro_f1": f1})
        epochs.set_postfix(dev_f1=f"{f1:.4f}")
        if f1 > best[0]:
            best = (f1, epoch, {k: v.clone() for k, v in head.state_dict().items()})
    head.load_state_dict(best[2])
    bias = np.zeros(classes)
    if options.calibrate:
        log_probs = torch.log_softmax(torch.from_numpy(_logits(head, hidden, bags, dev_rows)), dim=1).numpy()
        bias = fit_class_bias(log_probs, labels[dev_rows])
    return head, bias, {"best_epoch": best[1], "dev_macro_f1": best[0], "epochs": history}


def widened_model(parent: CharCNN, head: Head) -> CharCNN:
    """The active model's CNN with the trained head: a ``CharCNN`` with a word branch."""
    model = CharCNN(parent.alphabet_size, parent.fc3.out_features, parent.max_length,
                    word_buckets=head.words.num_embeddings, word_dim=head.words.embedding_dim,
                    filters=parent.filters, char_dim=parent.char_dim)
    own = model.state_dict()
    for name, value in parent.state_dict().items():
        if name in own and own[name].shape == value.shape and not name.startswith(("fc3.", "words.")):
            own[name] = value
    own["words.weight"] = head.words.weight.detach().clone()
    own["fc3.weight"] = torch.cat((head.cnn_out.weight, head.word_out.weight), dim=1).detach().clone()
    own["fc3.bias"] = head.cnn_out.bias.detach().clone()
    model.load_state_dict(own)
    return model.eval()
