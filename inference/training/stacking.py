"""Fit the TF-IDF head (inference/tfidf_head.py) on labelled texts and put it on a model.

Two fits, the second on rows the first did not see, so the stacking layer learns
how far to trust each part on new text rather than on its training rows:

1. the word model, scikit-learn's ``LogisticRegression`` on the TF-IDF matrix of
   hashed 1-2-grams (the TF-IDF baseline's model, on the buckets the head reads);
2. the stacking layer over [the base model's log-probabilities, the word model's logits],
   fitted on ``stack_rows`` rows whose word logits come from word models fitted without
   them (one hold-out for large sets, k folds for small ones). The base network is
   scored on those rows only: one pass over a few thousand texts. By default the layer
   is *scaled* (:func:`_scaled_stack`): one weight per part and a bias per class, five
   numbers, so a few hundred site rows set how far to trust each part but cannot remap
   one class onto another, which a full 6 -> 3 layer learnt from one site did on every
   other domain (the gates).

Every row counts ``weight`` times. The word model balances the classes over all its
rows; the stacking layer over the stacking rows themselves (``stack_balance``), whose
class mix is the site's, not the replay's. The result is an ordinary model (``Scorer.load``).

A model that already ends in a head (the shipped one) keeps it and learns a correction
to its word model instead (:func:`correct_head`): what it learnt from the whole corpus
is worth more than anything a few thousand rows can refit.
"""

from __future__ import annotations

import contextlib
import copy
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch
from scipy import sparse

from inference.artefact import ModelCard
from inference.encoding import Alphabet
from inference.model import CharCNN
from inference.tfidf_head import TfidfHead, tfidf_weights
from inference.training.calibration import balanced_weights
from inference.words import ngram_bags


@dataclass
class StackOptions:
    #: Inverse L2 strength of the word model (scikit-learn's ``C``; 1.0 is the TF-IDF baseline's), and of the
    #: correction :func:`correct_head` learns (1.0 gained most of 0.1 / 0.3 / 1.0 / 3.0 with the gates passed:
    #: docs/learning-loop.md).
    c: float = 1.0
    #: Inverse L2 strength of the stacking layer: few numbers, many rows, so barely regularised.
    stack_c: float = 10.0
    #: The stacking layer: "scaled" (a weight for each part and a bias per class, :func:`_scaled_stack`)
    #: or "full" (any 6 -> 3 linear map). Full, fitted on 400-800 telecom rows: -0.025 and -0.057 macro-F1
    #: in-domain, and other domains of the fixed set moved by up to -0.12 (scaled: -0.01). docs/learning-loop.md, Figures.
    stack_layer: str = "scaled"
    #: Class balance of the stacking rows: each weighs ``(1 / its class's count) ** stack_balance``;
    #: 1 = fully balanced, 0 = as sampled. Half-way scored best in all six figures (a rare middle class).
    stack_balance: float = 0.5
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


def weighted_log_loss(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> tuple[float, np.ndarray]:
    """Weighted mean log-loss of softmax(``scores``) and its gradient with respect to ``scores``."""
    rows = np.arange(len(labels))
    shifted = scores - scores.max(1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    total = weights.sum()
    residual = np.exp(log_probs)
    residual[rows, labels] -= 1.0
    residual *= (weights / total)[:, None]
    return float(-(weights * log_probs[rows, labels]).sum() / total), residual


def offset_loss(params: np.ndarray, features: sparse.csr_matrix, offset: np.ndarray, labels: np.ndarray,
                weights: np.ndarray, c: float) -> tuple[float, np.ndarray]:
    """Weighted mean log-loss of ``features @ W + b + offset`` plus ``||(W, b)||^2 / (2 C sum(weights))``, and its gradient.

    scikit-learn's ``LogisticRegression(C)`` objective with a fixed per-row offset, which
    scikit-learn does not take, and the intercept penalised too: what is fitted is a
    correction, and zero is "no change". ``params``: ``W`` (features x classes) flattened, then ``b``.
    """
    classes = offset.shape[1]
    coef = params[:-classes].reshape(features.shape[1], classes)
    value, residual = weighted_log_loss(features @ coef + params[-classes:] + offset, labels, weights)
    penalty = 0.5 / (c * weights.sum())
    gradient = np.concatenate(((features.T @ residual).ravel(), residual.sum(0))) + 2 * penalty * params
    return value + penalty * float(params @ params), gradient


def correct_head(parent: TfidfHead, texts: Sequence[str], labels: np.ndarray, row_weights: np.ndarray,
                 options: StackOptions) -> tuple[TfidfHead, dict[str, Any]]:
    """``parent`` with its word model corrected on these rows; its idf and stacking layer kept.

    For a model that already ends in a head. Refitted from the few thousand rows a retrain
    has, the word model the shipped head learnt from 250,000 lost 0.13 macro-F1 on the
    fixed validation set, and a stacking layer refitted on one site moved every other
    domain with it: the gates refused every candidate. Here the parent's word logits are
    a fixed offset and a logistic regression learns what to add to its coefficients
    (L2 toward no change, ``c``), with the classes balanced by their weight in
    the rows (in-domain rows weigh more than replayed ones). No site-only copy of the
    features: with the parent's words already fitted, it moved telecom's neighbours
    (app reviews) past the gates' margins.
    """
    from scipy.optimize import minimize

    started = time.monotonic()
    classes = parent.coef.shape[1]
    idf = parent.idf.detach().double().numpy()
    matrix = tfidf_matrix(*ngram_bags(texts, len(idf)), idf)
    coef = parent.coef.detach().double().numpy()
    intercept = parent.intercept.detach().double().numpy()
    mass = np.bincount(labels, weights=row_weights, minlength=classes)
    weights = row_weights / np.maximum(mass[labels], 1e-12) * row_weights.sum() / classes
    offset = matrix @ coef + intercept
    params = minimize(offset_loss, np.zeros(coef.size + classes),
                      args=(matrix, offset, labels, weights, options.c), jac=True, method="L-BFGS-B",
                      options={"maxiter": options.max_iter}).x
    head = copy.deepcopy(parent)
    with torch.no_grad():
        head.coef.copy_(torch.from_numpy(coef + params[:-classes].reshape(-1, classes)))
        head.intercept.copy_(torch.from_numpy(intercept + params[-classes:]))
    report = {"options": asdict(options), "rows": len(labels), "corrected_parent_head": True, "buckets": len(idf),
              "seconds": round(time.monotonic() - started, 1),
              "correction_norm": round(float(np.linalg.norm(params)), 4)}
    return head, report


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


def stack_weights(labels: np.ndarray, weights: np.ndarray, classes: int, balance: float) -> np.ndarray:
    """Stacking rows' weights: ``weights`` times a ``balance`` power of class balancing *over these rows*, mean 1.

    Balanced over the whole mix instead, a site whose class shares differ from the
    replay's (telecom: two thirds bad) is not balanced at all where the layer learns.
    """
    scaled = weights * balanced_weights(labels, classes) ** balance
    return scaled * len(scaled) / max(scaled.sum(), 1e-12)


def scaled_loss(params: np.ndarray, base: np.ndarray, word: np.ndarray, labels: np.ndarray, weights: np.ndarray,
                c: float) -> tuple[float, np.ndarray]:
    """Weighted mean log-loss of ``a * base + b * word + bias`` (``params = [a, b, *bias]``) and its gradient.

    ``a`` and ``b`` carry an L2 penalty of ``1 / (2 C n)``, as scikit-learn's ``C`` with
    weights summing to the ``n`` rows; the biases none.
    """
    value, residual = weighted_log_loss(params[0] * base + params[1] * word + params[2:], labels, weights)
    penalty = 0.5 / (c * len(labels))
    grad = np.concatenate(([(residual * base).sum() + 2 * penalty * params[0],
                            (residual * word).sum() + 2 * penalty * params[1]], residual.sum(0)))
    return value + penalty * float((params[:2] ** 2).sum()), grad


def _scaled_stack(base: np.ndarray, word: np.ndarray, labels: np.ndarray, weights: np.ndarray, classes: int,
                  c: float) -> tuple[np.ndarray, np.ndarray]:
    """``(classes, 2 * classes)`` weights ``[a * I, b * I]`` and per-class biases minimising :func:`scaled_loss`.

    Biases stay within +-20, so a class the rows lack gets a low one, not an endless descent.
    """
    from scipy.optimize import minimize

    start = np.concatenate(([1.0, 1.0], np.zeros(classes)))
    bounds = [(None, None)] * 2 + [(-20.0, 20.0)] * classes
    params = minimize(scaled_loss, start, args=(base, word, labels, weights, c), jac=True, method="L-BFGS-B",
                      bounds=bounds).x
    eye = np.eye(classes)
    return np.hstack((params[0] * eye, params[1] * eye)), params[2:]


def _stack_layer(base: np.ndarray, word: np.ndarray, labels: np.ndarray, weights: np.ndarray, classes: int,
                 options: StackOptions) -> tuple[np.ndarray, np.ndarray]:
    """The stacking layer's ``(classes, 2 * classes)`` weights and biases (``options.stack_layer``)."""
    weights = stack_weights(labels, weights, classes, options.stack_balance)
    if options.stack_layer == "scaled":
        return _scaled_stack(base, word, labels, weights, classes, options.stack_c)
    if options.stack_layer == "full":
        fitted = _logistic(np.hstack((base, word)), labels, weights, options.stack_c, options)
        return _full(fitted, classes, 2 * classes)
    raise ValueError(f"stack_layer must be 'scaled' or 'full', not {options.stack_layer!r}")


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
    rows); the word model then adapts to it (:func:`_word_model`). A model that already
    ends in a head gets that head corrected instead (:func:`correct_head`).
    """
    options = options or StackOptions()
    labels = np.asarray(labels, dtype=np.int64)
    row_weights = np.ones(len(labels)) if weights is None else np.asarray(weights, dtype=np.float64)
    if model.tfidf is not None:
        return correct_head(model.tfidf, texts, labels, row_weights, options)
    started = time.monotonic()
    classes = len(card.classes)
    buckets = model.word_buckets or options.buckets
    weights = row_weights * balanced_weights(labels, classes) * len(labels) / classes
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
    stack_coef, stack_intercept = _stack_layer(base, word_logits[stack_rows], labels[stack_rows],
                                               row_weights[stack_rows], classes, options)
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
                     tfidf_head=True, filters=model.filters, char_dim=model.char_dim)
    own = joined.state_dict()
    for name, value in model.state_dict().items():
        if not name.startswith("tfidf."):
            own[name] = value
    for name, value in head.state_dict().items():
        own[f"tfidf.{name}"] = value
    joined.load_state_dict(own)
    return joined.eval()


def _progress(items: list[np.ndarray], description: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(items, desc=description, unit="fit", disable=not enabled or len(items) < 2)
