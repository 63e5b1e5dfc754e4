"""Fit the TF-IDF head (inference/tfidf_head.py) on labelled texts and put it on a model.

Two fits, the second on rows the first did not see, so the stacking layer learns
how far to trust each part on new text rather than on its training rows:

1. the word model, scikit-learn's ``LogisticRegression`` on the TF-IDF matrix of
   hashed 1-2-grams (the TF-IDF baseline's model, on the buckets the head reads);
2. the stacking layer, a logistic regression over [the base model's log-probabilities,
   the word model's logits] on ``stack_rows`` rows whose word logits come from word
   models fitted without them (one hold-out for large sets, k folds for small ones).
   The base network is scored on those rows only: one pass over a few thousand texts.

Every row counts ``weight`` times and the classes are balanced, as the gates and
macro-F1 judge them. The result is an ordinary model (``Scorer.load``).
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch
from scipy import sparse

from inference.artefact import ModelCard
from inference.calibration import balanced_weights
from inference.encoding import Alphabet
from inference.model import CharCNN
from inference.tfidf_head import TfidfHead, tfidf_weights
from inference.words import ngram_bags


@dataclass
class StackOptions:
    #: Inverse L2 strength of the word model (scikit-learn's ``C``; 1.0 is the TF-IDF baseline's).
    c: float = 1.0
    #: Inverse L2 strength of the stacking layer: six inputs, many rows, so barely regularised.
    stack_c: float = 10.0
    #: Rows the stacking layer is fitted on (the base network scores only these).
    stack_rows: int = 20_000
    #: Folds for the out-of-fold word logits when every candidate row is a stacking row (small sets).
    folds: int = 5
    max_iter: int = 1000
    seed: int = 0
    #: Buckets of a head put on a model without a word branch (else the branch's; the shipped model's size).
    buckets: int = 1 << 18


def document_idf(ids: np.ndarray, offsets: np.ndarray, buckets: int) -> np.ndarray:
    """Smoothed idf per bucket, as scikit-learn's: ``ln((1 + n) / (1 + df)) + 1``; 0 for bucket 0."""
    rows = np.repeat(np.arange(len(offsets)), np.diff(offsets, append=len(ids)))
    present = np.unique(rows.astype(np.int64) * buckets + ids) % buckets
    df = np.bincount(present, minlength=buckets)
    idf = np.log((1 + len(offsets)) / (1 + df)) + 1
    idf[0] = 0.0
    return idf


def tfidf_matrix(ids: np.ndarray, offsets: np.ndarray, idf: np.ndarray) -> sparse.csr_matrix:
    """``(texts, buckets)`` L2-normalised sublinear TF-IDF: what ``TfidfHead.word_logits`` multiplies.

    Built from the head's own per-occurrence weights (duplicates summed), so the fit and
    the forward use one definition.
    """
    weights = tfidf_weights(torch.from_numpy(ids), torch.from_numpy(offsets), torch.from_numpy(idf)).numpy()
    rows = np.repeat(np.arange(len(offsets)), np.diff(offsets, append=len(ids)))
    matrix = sparse.csr_matrix((weights, (rows, ids)), shape=(len(offsets), len(idf)))
    matrix.eliminate_zeros()  # the padding bucket of a text without words
    return matrix


def _logistic(features: Any, labels: np.ndarray, weights: np.ndarray, c: float, options: StackOptions) -> Any:
    """A fitted ``LogisticRegression``; BLAS on one thread (on a busy 2-core box more threads were 11x slower)."""
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return LogisticRegression(C=c, max_iter=options.max_iter).fit(features, labels, sample_weight=weights)


def _full(model: Any, classes: int, features: int) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, features)`` coefficients and intercepts, whatever classes the fit saw.

    A binary fit has one row (class 1 against 0); a class absent from the rows gets
    no weight and an intercept that keeps it from being predicted.
    """
    coef = np.zeros((classes, features))
    intercept = np.full(classes, -20.0)
    seen = np.asarray(model.classes_, dtype=np.int64)
    if len(seen) == 2:
        coef[seen[1]], intercept[seen[1]] = model.coef_[0], model.intercept_[0]
        coef[seen[0]], intercept[seen[0]] = 0.0, 0.0
    else:
        coef[seen], intercept[seen] = model.coef_, model.intercept_
    return coef, intercept


def _word_model(matrix: sparse.csr_matrix, rows: np.ndarray, labels: np.ndarray, weights: np.ndarray,
                target: np.ndarray, classes: int, options: StackOptions) -> tuple[np.ndarray, np.ndarray]:
    """The word model's ``(classes, buckets)`` coefficients and intercepts, fitted on ``rows``.

    With target rows among them, Daume's feature augmentation ("frustratingly easy
    domain adaptation"): every feature has a shared copy and a copy only target rows
    carry, both L2-regularised, so the site's rows can move the weights their words
    need while the other rows still hold the rest. The model scores every text as
    the target site's, with the sum of both copies: one table, as without it.
    """
    features = matrix[rows]
    mine = target[rows]
    if mine.any() and not mine.all():
        own = sparse.diags(mine.astype(np.float64)) @ features
        features = sparse.hstack((features, own, sparse.csr_matrix(mine.astype(np.float64)[:, None]))).tocsr()
    fitted = _logistic(features, labels[rows], weights[rows], options.c, options)
    buckets = matrix.shape[1]
    coef, intercept = _full(fitted, classes, features.shape[1])
    if features.shape[1] == buckets:
        return coef, intercept
    return coef[:, :buckets] + coef[:, buckets : 2 * buckets], intercept + coef[:, 2 * buckets]


@contextlib.contextmanager
def base_network(model: CharCNN) -> Iterator[CharCNN]:
    """The model without its TF-IDF head (if any), for the base log-probabilities the head stacks on."""
    head, model.tfidf = model.tfidf, None
    try:
        yield model
    finally:
        model.tfidf = head


def base_log_probs(model: CharCNN, card: ModelCard, alphabet: Alphabet, texts: Sequence[str]) -> np.ndarray:
    """The base network's log-probabilities, uncalibrated, fp32, through the scorer's fast path."""
    from inference.scorer import Scorer

    with base_network(model) as base:
        scorer = Scorer(base, replace(card, calibration={}), alphabet, device="cpu", precision="fp32")
        return np.log(np.maximum(scorer.probabilities(texts), 1e-30))


def fit_head(
    model: CharCNN, card: ModelCard, alphabet: Alphabet, texts: Sequence[str], labels: np.ndarray,
    weights: np.ndarray | None = None, options: StackOptions | None = None, progress: bool = True,
    stack_candidates: np.ndarray | None = None, target_rows: np.ndarray | None = None,
) -> tuple[TfidfHead, dict[str, Any]]:
    """The fitted head for ``model`` and a report (rows, timings, stacking weights).

    ``stack_candidates``: the rows the stacking layer may be fitted on (default all).
    Pass rows the base network did not train on: on its own training rows its
    log-probabilities are overconfident and the layer would learn to trust it too much.
    ``target_rows``: rows from the site the model is for, among others (replayed corpus
    rows); the word model then adapts to it (:func:`_word_model`).
    """
    options = options or StackOptions()
    started = time.monotonic()
    classes = len(card.classes)
    buckets = model.word_buckets or options.buckets
    labels = np.asarray(labels, dtype=np.int64)
    weights = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=np.float64)
    weights = weights * balanced_weights(labels, classes) * len(labels) / classes
    ids, offsets = ngram_bags(texts, buckets)
    idf = document_idf(ids, offsets, buckets)
    matrix = tfidf_matrix(ids, offsets, idf)
    rng = np.random.default_rng(options.seed)
    pool = np.arange(len(labels)) if stack_candidates is None else np.asarray(stack_candidates, dtype=np.int64)
    stack_rows = np.sort(rng.choice(pool, min(options.stack_rows, len(pool)), replace=False))
    parts = np.array_split(rng.permutation(stack_rows), options.folds if len(stack_rows) == len(pool) else 1)
    word_logits = np.zeros((len(labels), classes))
    target = np.zeros(len(labels), dtype=bool)
    if target_rows is not None:
        target[np.asarray(target_rows, dtype=np.int64)] = True
    for part in _progress(parts, "word model (held-out folds)", progress):
        rest = np.setdiff1d(np.arange(len(labels)), part)
        coef, intercept = _word_model(matrix, rest, labels, weights, target, classes, options)
        word_logits[part] = matrix[part] @ coef.T + intercept
    if progress:
        print(f"scoring {len(stack_rows)} stacking rows with the base network", file=sys.stderr, flush=True)
    base = base_log_probs(model, card, alphabet, [texts[i] for i in stack_rows])
    joined = np.hstack((base, word_logits[stack_rows]))
    stacked = _logistic(joined, labels[stack_rows], weights[stack_rows], options.stack_c, options)
    stack_coef, stack_intercept = _full(stacked, classes, 2 * classes)
    if progress:
        print(f"word model on all {len(labels)} rows", file=sys.stderr, flush=True)
    coef, intercept = _word_model(matrix, np.arange(len(labels)), labels, weights, target, classes, options)
    head = TfidfHead(buckets, classes)
    with torch.no_grad():
        head.idf.copy_(torch.from_numpy(idf))
        head.coef.copy_(torch.from_numpy(coef.T))
        head.intercept.copy_(torch.from_numpy(intercept))
        head.stack.weight.copy_(torch.from_numpy(stack_coef))
        head.stack.bias.copy_(torch.from_numpy(stack_intercept))
    report = {"options": asdict(options), "rows": len(labels), "stack_rows": len(stack_rows),
              "folds": len(parts), "buckets": buckets, "seconds": round(time.monotonic() - started, 1),
              "stack_weight": np.round(stack_coef, 4).tolist(), "stack_bias": np.round(stack_intercept, 4).tolist()}
    return head, report


def with_head(model: CharCNN, head: TfidfHead) -> CharCNN:
    """A copy of ``model`` (its head, if any, replaced) ending in ``head``; eval mode."""
    words = model.words
    joined = CharCNN(model.alphabet_size, model.fc3.out_features, model.max_length,
                     word_buckets=head.idf.shape[0], word_dim=words.embedding_dim if words is not None else 0,
                     tfidf_head=True)
    own = joined.state_dict()
    for name, value in model.state_dict().items():
        if not name.startswith("tfidf."):
            own[name] = value
    for name, value in head.state_dict().items():
        own[f"tfidf.{name}"] = value
    joined.load_state_dict(own)
    return joined.eval()


def head_architecture(model: CharCNN) -> dict[str, Any]:
    """What ``model.json`` needs to rebuild a model with a head."""
    words = model.words
    return {"word_buckets": model.word_buckets, "word_dim": words.embedding_dim if words is not None else 0,
            "tfidf_head": model.tfidf is not None}


def _progress(items: list[np.ndarray], description: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(items, desc=description, unit="fit", disable=not enabled or len(items) < 2)
