"""Training loop for the char-CNN: seeded, length-bucketed, resumable, best epoch kept.

Batches hold texts of similar length (sorted within shuffled pools), so the fast
forward crops most of the padding: on real reviews (median ~140 characters) an
epoch costs about a third of the full-width convolution work, with identical
gradients. Everything random comes from ``--seed``.

A run writes a checkpoint (inference/training/checkpoint.py) every ``checkpoint_minutes``
and at each epoch end; :func:`resume` continues it and ends exactly where an
uninterrupted run would. ``max_minutes`` stops a run cleanly at a checkpoint.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from inference.artefact import ModelCard, load_artefact, save_artefact
from inference.hardware import autocast_dtype
from inference.model import HIDDEN, CharCNN
from inference.training.calibration import calibration_report, fit_class_bias
from inference.training.checkpoint import load_checkpoint, save_checkpoint
from inference.training.corpus import Corpus, load_corpus
from inference.training.losses import training_loss
from inference.training.metrics import classification_report
from inference.training.options import TrainOptions
from inference.training.precision_gate import record_precision_gate
from inference.training.word_pretrain import pretrain_word_branch

log = logging.getLogger(__name__)
POOL_BATCHES = 50


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def length_bucketed_batches(
    lengths: np.ndarray, rows: np.ndarray, batch_size: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Shuffle ``rows``, sort pools of ~50 batches by length, cut, shuffle batch order."""
    rows = rows[rng.permutation(len(rows))]
    batches: list[np.ndarray] = []
    pool = batch_size * POOL_BATCHES
    for start in range(0, len(rows), pool):
        chunk = rows[start : start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def epoch_rows(labels: np.ndarray, balance: bool, rng: np.random.Generator, size: int = 0) -> np.ndarray:
    """Positions drawn for one epoch: all of them, ``size`` of them, or a class-balanced draw."""
    size = size or len(labels)
    if balance:
        weights = 1.0 / np.bincount(labels)[labels]
        return rng.choice(len(labels), size=size, replace=True, p=weights / weights.sum())
    if size >= len(labels):
        return np.arange(len(labels))
    return rng.choice(len(labels), size=size, replace=False)


def predict_logits(model: CharCNN, corpus: Corpus, rows: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Raw logits for corpus rows, batched by length (eval mode, no calibration)."""
    model.eval()
    order = rows[np.argsort(corpus.lengths[rows], kind="stable")]
    logits = np.zeros((len(corpus.labels), model.fc3.out_features), dtype=np.float32)
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            logits[batch] = model(*corpus.batch(batch, model.fc3.weight.device)).float().cpu().numpy()
    return logits[rows]


def build_network(options: TrainOptions, corpus: Corpus) -> CharCNN:
    """The untrained network ``options`` describe, for the corpus's alphabet and classes."""
    return CharCNN(len(corpus.alphabet), len(corpus.reviews.classes), options.max_length,
                   word_buckets=options.word_buckets, word_dim=options.word_dim, filters=options.filters,
                   char_dim=options.char_dim).to(options.device)


def words_joined(options: TrainOptions, state: dict[str, Any]) -> bool:
    """Whether the word branch takes part yet: from the start, unless ``--cnn-first`` keeps it out."""
    return not options.cnn_first or "word_pretraining" in state


def hold_words(model: CharCNN, options: TrainOptions, state: dict[str, Any]) -> None:
    """The word table takes no gradient while the CNN trains alone, nor under ``--freeze-words``.

    Adam leaves a parameter without a gradient as it is.
    """
    if model.words is not None:
        model.words.weight.requires_grad_(words_joined(options, state) and not options.freeze_words)


def silence_words(model: CharCNN) -> None:
    """Zero the word table and its output columns: the model is the CNN alone until :func:`join_words`.

    Zero features give the output columns a zero gradient, and zero columns give the
    (held) table none, so no word weight moves meanwhile.
    """
    assert model.words is not None
    with torch.no_grad():
        model.words.weight.zero_()
        model.fc3.weight[:, HIDDEN:] = 0.0


def join_words(model: CharCNN, corpus: Corpus, options: TrainOptions, state: dict[str, Any],
               rng: np.random.Generator) -> None:
    """Pretrain the word branch alone and fold it into the output layer (``--pretrain-words``)."""
    assert model.words is not None
    if options.cnn_first:  # a fresh table: the silenced one is all zeros
        model.init_words()
    model.words.weight.requires_grad_(True)
    state["word_pretraining"] = pretrain_word_branch(model, corpus, options.pretrain_words, options.word_lr,
                                                     lambda labels: epoch_rows(labels, options.balance, rng))


def make_optimizer(model: CharCNN, options: TrainOptions) -> torch.optim.Optimizer:
    if options.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=options.lr, momentum=0.9)
    if options.optimizer == "adam":  # one fused kernel per step: a fifth of a CPU step was Adam's loops (issue 36)
        return torch.optim.Adam(model.parameters(), lr=options.lr, fused=True)
    raise ValueError(f"--optimizer must be sgd or adam, not {options.optimizer!r}")


def warm_start(model: CharCNN, directory: str) -> None:
    """Copy every tensor of the artefact whose shape fits; a wider output layer keeps the old columns."""
    parent, _, _ = load_artefact(directory)
    own = model.state_dict()
    for name, value in parent.state_dict().items():
        if name in own and own[name].shape == value.shape:
            own[name] = value
        elif name == "fc3.weight" and own[name].shape[0] == value.shape[0]:
            widened = torch.zeros_like(own[name])
            widened[:, : value.shape[1]] = value
            own[name] = widened
    model.load_state_dict(own)


def per_source_report(corpus: Corpus, rows: np.ndarray, predicted: np.ndarray) -> dict[str, Any]:
    sources = np.asarray(corpus.reviews.sources)[rows]
    report = {}
    for source in sorted(set(sources)):
        mine = sources == source
        result = classification_report(corpus.labels[rows][mine], predicted[mine], corpus.reviews.classes)
        report[source] = {"n": result["n"], "accuracy": result["accuracy"], "macro_f1": result["macro_f1"]}
    return report


def train(options: TrainOptions, max_minutes: float = 0.0, stop_after_steps: int = 0) -> Path | None:
    """Train from the start; see :func:`run`."""
    return run(options, None, max_minutes, stop_after_steps)


def resume(checkpoint_dir: str | Path, max_minutes: float = 0.0, stop_after_steps: int = 0) -> Path | None:
    """Continue the run whose checkpoint is in ``checkpoint_dir``, with its own options."""
    state = load_checkpoint(checkpoint_dir)
    options = TrainOptions.from_record(state["options"])
    return run(options, state, max_minutes, stop_after_steps)


def run(options: TrainOptions, state: dict[str, Any] | None, max_minutes: float, stop_after_steps: int) -> Path | None:
    """Train until the last epoch (returns the artefact directory) or a stop (returns None).

    A stop (``max_minutes`` elapsed, or ``stop_after_steps`` batches in this call)
    writes a checkpoint first; :func:`resume` continues from it.
    """
    seed_everything(options.seed)
    corpus = load_corpus(options)
    model = build_network(options, corpus)
    if options.init_from and state is None:
        warm_start(model, options.init_from)
    optimizer = make_optimizer(model, options)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(options.schedule, 1), gamma=0.5)
    rng = np.random.default_rng(options.seed)
    if state is None:
        state = {"epoch": 1, "batch": 0, "step": 0, "best_f1": -1.0, "best_epoch": 0, "history": [],
                 "loss_sum": 0.0, "loss_count": 0, "epoch_rng": rng.bit_generator.state}
        if options.cnn_first:
            silence_words(model)
        elif options.pretrain_words:
            join_words(model, corpus, options, state, rng)
            state["epoch_rng"] = rng.bit_generator.state
    else:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
    hold_words(model, options, state)  # after pretraining, which trains the table
    directory = Path(options.output) / options.model_name
    directory.mkdir(parents=True, exist_ok=True)
    checkpoint_dir = Path(options.checkpoint_dir or directory.with_name(directory.name + ".checkpoint"))
    dtype = autocast_dtype(options.device, options.precision)
    started = time.monotonic()
    last_checkpoint = started
    steps_this_call = 0

    def checkpoint() -> None:
        save_checkpoint(checkpoint_dir, {
            **state, "options": asdict(options), "model": model.state_dict(),
            "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
        })

    if options.pretrain_words and not options.cnn_first and state["step"] == 0:
        checkpoint()  # the pretrained branch survives a stop in the first joint epoch
    log.info("training on %d rows, validating on %d, classes %s, autocast %s",
             len(corpus.train_rows), len(corpus.validation_rows), corpus.reviews.classes, dtype or "off")
    while state["epoch"] <= options.epochs:
        epoch = state["epoch"]
        rng.bit_generator.state = state["epoch_rng"]
        if not words_joined(options, state) and state["batch"] == 0 and (
                epoch > options.cnn_first or state.get("cnn_converged")):
            tqdm.write(f"epoch {epoch}: the word branch joins the CNN", file=sys.stderr)
            join_words(model, corpus, options, state, rng)
            hold_words(model, options, state)
            state.update(best_epoch=epoch - 1, words_joined_at=epoch,  # patience counts from here
                         epoch_rng=rng.bit_generator.state)
            checkpoint()
        train_labels = corpus.labels[corpus.train_rows]
        rows = corpus.train_rows[epoch_rows(train_labels, options.balance, rng, options.epoch_rows)]
        batches = length_bucketed_batches(corpus.lengths, rows, options.batch_size, rng)
        model.train()
        progress = tqdm(batches, desc=f"epoch {epoch}/{options.epochs}", unit="batch", dynamic_ncols=True,
                        initial=state["batch"], total=len(batches))
        for batch in batches[state["batch"] :]:
            loss = _step(model, optimizer, corpus, batch, options, dtype)
            state["batch"] += 1
            state["step"] += 1
            steps_this_call += 1
            state["loss_sum"] += loss * len(batch)
            state["loss_count"] += len(batch)
            progress.update(1)
            if state["step"] % max(options.log_every, 1) == 0:
                progress.set_postfix(loss=f"{state['loss_sum'] / state['loss_count']:.4f}")
            now = time.monotonic()
            if (max_minutes and now - started >= max_minutes * 60) or steps_this_call == stop_after_steps:
                progress.close()
                checkpoint()
                tqdm.write(f"stopped at epoch {epoch}, batch {state['batch']}: resume with "
                           f"`reviewpulse train --resume {checkpoint_dir}`", file=sys.stderr)
                return None
            if now - last_checkpoint >= options.checkpoint_minutes * 60:
                checkpoint()
                last_checkpoint = now
        progress.close()
        scheduler.step()
        _end_epoch(model, corpus, options, state, directory)
        state.update(epoch=epoch + 1, batch=0, loss_sum=0.0, loss_count=0, epoch_rng=rng.bit_generator.state)
        checkpoint()
        last_checkpoint = time.monotonic()
        if epoch - state["best_epoch"] >= options.patience:
            if not words_joined(options, state):
                state["cnn_converged"] = True
                continue
            tqdm.write(f"no improvement for {options.patience} epochs: stopping early", file=sys.stderr)
            break
    return directory


def _step(model: CharCNN, optimizer: torch.optim.Optimizer, corpus: Corpus, batch: np.ndarray,
          options: TrainOptions, dtype: torch.dtype | None) -> float:
    indices, lengths, words = corpus.batch(batch, options.device)
    if options.dropout_input > 0:
        indices = indices * (torch.rand(indices.shape) >= options.dropout_input).to(indices.device)
    with torch.autocast(options.device.split(":")[0], dtype=dtype or torch.bfloat16, enabled=dtype is not None):
        logits = model(indices, lengths, words)
    loss = training_loss(logits.float(), torch.from_numpy(corpus.labels[batch]).to(logits.device), options.loss,
                         options.ordinal_weight)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.item())


def _end_epoch(model: CharCNN, corpus: Corpus, options: TrainOptions, state: dict[str, Any], directory: Path) -> None:
    """Validate; on a new best macro-F1, calibrate and write the artefact."""
    rows = corpus.validation_rows
    log_probs = torch.log_softmax(torch.from_numpy(predict_logits(model, corpus, rows)), dim=1).numpy()
    labels = corpus.labels[rows]
    predicted = log_probs.argmax(1)
    report = classification_report(labels, predicted, corpus.reviews.classes)
    report.update(epoch=state["epoch"], train_loss=round(state["loss_sum"] / max(state["loss_count"], 1), 4),
                  validation_loss=round(float(-log_probs[np.arange(len(labels)), labels].mean()), 4))
    state["history"].append(report)
    tqdm.write(f"epoch {state['epoch']}: val accuracy {report['accuracy']:.4f} macro-F1 {report['macro_f1']:.4f}",
               file=sys.stderr)
    if report["macro_f1"] > state["best_f1"]:
        state["best_f1"], state["best_epoch"] = report["macro_f1"], state["epoch"]
        metrics = {"validation": report, "validation_per_source": per_source_report(corpus, rows, predicted)}
        if state.get("word_pretraining"):
            metrics["word_pretraining"] = state["word_pretraining"]
        card = _card(options, corpus, metrics, model)
        if options.calibrate:
            bias = fit_class_bias(log_probs, labels)
            card.calibration = {"class_bias": [round(float(b), 6) for b in bias],
                                "fitted_on": "validation split, classes balanced",
                                **calibration_report(log_probs, labels, bias, list(corpus.reviews.classes))}
        save_artefact(model, card, directory, half=options.half)
    last_epoch = words_joined(options, state) and (
        state["epoch"] == options.epochs or state["epoch"] - state["best_epoch"] >= options.patience)
    if last_epoch and options.gate_precision:
        record_precision_gate(directory, [corpus.reviews.texts[i] for i in rows], labels)  # bf16 and int8 gates, into model.json
    (directory / "metrics.json").write_text(
        json.dumps({"best_epoch": state["best_epoch"], "words_joined_at": state.get("words_joined_at"),
                    "epochs": state["history"]}, indent=2) + "\n",
        encoding="utf-8")


def _portable(path: str) -> str:
    """A path relative to the working directory: model.json must not carry machine paths."""
    return os.path.relpath(path) if path and Path(path).is_absolute() else path


def _card(options: TrainOptions, corpus: Corpus, metrics: dict[str, Any], model: CharCNN) -> ModelCard:
    created = datetime.now(UTC)
    training = {**asdict(options), "rows": len(corpus.reviews), "rejected_rows": corpus.reviews.rejection_report()}
    for key in ("data", "output", "init_from", "checkpoint_dir"):
        training[key] = _portable(training[key])
    return ModelCard(
        name=options.model_name,
        version=f"{options.model_name}-{created:%Y%m%d%H%M}",
        alphabet=corpus.alphabet.characters,
        max_length=options.max_length,
        classes=list(corpus.reviews.classes),
        created_at=created.isoformat(timespec="seconds"),
        data_sha256=corpus.data_sha256,
        training=training,
        metrics=metrics,
        architecture=model.architecture(),
    )
