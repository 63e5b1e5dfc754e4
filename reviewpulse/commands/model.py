"""``reviewpulse train``, ``lodo``, ``baseline``, ``evaluate`` and ``score``."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from kernel.settings import get_settings
from reviewpulse.commands.common import JsonFlag, Opt, fail

#: stdin lines scored at a time by ``reviewpulse score`` (memory stays flat on a huge pipe).
SCORE_BLOCK = 8192


def train_command(
    data: Annotated[Path | None, Opt(help="labelled CSV: a text column and 1-5 star ratings")] = None,
    resume: Annotated[Path | None, Opt(help="continue the run checkpointed in this directory (its own options)")] = None,
    max_minutes: Annotated[float, Opt(min=0, help="stop cleanly at a checkpoint after this long (0 = no limit)")] = 0,
    text_column: Annotated[str, Opt(help="column holding the review text")] = "text",
    label_column: Annotated[str, Opt(help="column holding 1-5 stars")] = "rating",
    group_labels: Annotated[bool, Opt(help="1-2 bad / 3 average / 4-5 good (else 5 star classes)")] = True,
    ignore_center: Annotated[bool, Opt(help="drop 3-star rows: a binary bad/good model")] = False,
    balance: Annotated[bool, Opt(help="class-balanced sampling each epoch")] = False,
    validation_split: Annotated[float, Opt(min=0.0, max=0.9)] = 0.1,
    prefix_rows: Annotated[int, Opt(min=0, help="split the first N rows as a file of N rows was split")] = 0,
    max_length: Annotated[int, Opt(min=123, help="input characters")] = 1014,
    dropout_input: Annotated[float, Opt(min=0.0, max=0.9, help="probability of blanking a character")] = 0.0,
    max_rows: Annotated[int | None, Opt(help="read at most this many rows")] = None,
    epochs: Annotated[int, Opt(min=1)] = 10,
    epoch_rows: Annotated[int, Opt(min=0, help="rows drawn per epoch (0 = all training rows)")] = 0,
    batch_size: Annotated[int, Opt(min=1)] = 128,
    optimizer: Annotated[str, Opt(help="sgd or adam")] = "adam",
    lr: Annotated[float, Opt(help="learning rate")] = 0.001,
    schedule: Annotated[int, Opt(help="halve the learning rate every N epochs")] = 3,
    patience: Annotated[int, Opt(help="stop after N epochs without a better validation macro-F1")] = 3,
    seed: int = 42,
    log_every: Annotated[int, Opt(help="steps between loss logs")] = 50,
    model_name: str = "charcnn",
    output: Annotated[Path, Opt(help="models directory; the artefact goes to OUTPUT/MODEL_NAME")] = Path("models"),
    exclude_source: Annotated[list[str] | None, Opt(help="leave rows of this source out (repeatable)")] = None,
    half: Annotated[bool, Opt(help="store fp16 weights")] = False,
    word_buckets: Annotated[int, Opt(min=0, help="hashed word n-gram side branch size (0 = pure char-CNN)")] = 0,
    word_dim: Annotated[int, Opt(min=1, help="word branch embedding width")] = 32,
    filters: Annotated[int, Opt(min=8, help="filters per convolution (the paper's 256; 128 trains ~3x faster)")] = 256,
    char_dim: Annotated[int, Opt(min=0, help="learned character embedding width (0 = the paper's one-hot input)")] = 0,
    init_from: Annotated[Path | None, Opt(help="model directory to warm-start from")] = None,
    pretrain_words: Annotated[int, Opt(min=0, help="passes training the word branch alone first (fast)")] = 0,
    word_lr: Annotated[float, Opt(help="learning rate of the word-branch passes")] = 0.003,
    cnn_first: Annotated[int, Opt(min=0, help="epochs the char-CNN trains alone (fewer once it stops improving) "
                                          "before --pretrain-words joins the word branch")] = 0,
    freeze_words: Annotated[bool, Opt(help="keep the word branch as pretrained (or warm-started) in the joint "
                                           "epochs; it overfits in a second pass")] = False,
    loss: Annotated[str, Opt(help="ce, or an ordinal objective: neighbour (label smoothing toward the adjacent "
                                  "class) or emd (plus squared earth mover's distance)")] = "ce",
    ordinal_weight: Annotated[float, Opt(min=0.0, max=1.0, help="weight of the ordinal part of --loss")] = 0.1,
    device: Annotated[str, Opt(help="cpu or cuda")] = "cpu",
    precision: Annotated[str, Opt(help="auto (bf16 where native), fp32 or bf16")] = "auto",
    checkpoint_dir: Annotated[Path | None, Opt(help="default OUTPUT/MODEL_NAME.checkpoint")] = None,
    checkpoint_minutes: Annotated[float, Opt(min=0.1, help="minutes between checkpoints")] = 10.0,
    calibrate: Annotated[bool, Opt(help="fit class biases on the validation split")] = True,
) -> None:
    """Train the char-CNN (resumable); keeps the best epoch by validation macro-F1."""
    from inference.training.checkpoint import CheckpointError
    from inference.training.data import DataError
    from inference.training.losses import LOSSES
    from inference.training.options import TrainOptions
    from inference.training.train import resume as resume_run
    from inference.training.train import train

    if optimizer not in ("sgd", "adam"):
        fail("--optimizer must be sgd or adam")
    if loss not in LOSSES:
        fail(f"--loss must be one of {', '.join(LOSSES)}")
    if precision not in ("auto", "fp32", "bf16"):
        fail("--precision must be auto, fp32 or bf16")
    if resume is None and data is None:
        fail("give --data FILE to start a run, or --resume DIR to continue one")
    if freeze_words and not (word_buckets and (pretrain_words or init_from)):
        fail("--freeze-words keeps a trained word branch: give --word-buckets with --pretrain-words or --init-from")
    if cnn_first and not (word_buckets and pretrain_words):
        fail("--cnn-first trains the CNN before the word branch joins: give --word-buckets and --pretrain-words")
    if cnn_first >= epochs:
        fail(f"--cnn-first {cnn_first} leaves no joint epoch: give --epochs above it")
    try:
        if resume is not None:
            directory = resume_run(resume, max_minutes)
        else:
            options = TrainOptions(
                data=str(data), text_column=text_column, label_column=label_column, group_labels=group_labels,
                ignore_center=ignore_center, balance=balance, validation_split=validation_split,
                prefix_rows=prefix_rows, max_length=max_length, dropout_input=dropout_input, max_rows=max_rows,
                epochs=epochs, epoch_rows=epoch_rows, batch_size=batch_size, optimizer=optimizer, lr=lr,
                schedule=schedule, patience=patience, seed=seed, log_every=log_every, model_name=model_name,
                output=str(output), exclude_sources=tuple(exclude_source or ()), half=half,
                word_buckets=word_buckets, word_dim=word_dim, filters=filters, char_dim=char_dim, init_from=str(init_from or ""), device=device,
                pretrain_words=pretrain_words, word_lr=word_lr, cnn_first=cnn_first, freeze_words=freeze_words, loss=loss, ordinal_weight=ordinal_weight,
                precision=precision, checkpoint_dir=str(checkpoint_dir or ""),
                checkpoint_minutes=checkpoint_minutes, calibrate=calibrate,
            )
            directory = train(options, max_minutes)
    except (DataError, CheckpointError) as error:
        fail(str(error))
    if directory is not None:
        typer.echo(f"model written to {directory} (metrics in {directory / 'metrics.json'})")


def evaluate_command(
    data: Annotated[Path, Opt(help="labelled CSV to evaluate on")],
    model: Annotated[Path | None, Opt(help="model directory (default: MODEL_DIR, the shipped model)")] = None,
    text_column: str = "text",
    label_column: str = "rating",
    baseline: Annotated[bool, Opt(help="also train and score a TF-IDF + logistic-regression baseline")] = True,
    gate_texts: Annotated[int, Opt(min=0, help="rows the precision gate (bf16, int8 vs fp32) scores (0 = skip)")] = 1000,
    record_precision: Annotated[bool, Opt(help="write the gate into the model's model.json (SCORER_PRECISION=auto "
                                               "then uses what passed; int8 needs it)")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Accuracy, macro-F1, per-class report, confusion matrix and the precision gate on a labelled CSV."""
    from inference.artefact import ArtefactError
    from inference.training.data import DataError
    from inference.training.evaluate import evaluate, format_report

    if record_precision and not gate_texts:
        fail("--record-precision records the precision gate: give --gate-texts above 0")
    try:
        report = evaluate(model or get_settings().model_dir, data, text_column, label_column, baseline,
                          progress=not as_json, gate_texts=gate_texts, record_precision=record_precision)
    except (DataError, ArtefactError) as error:
        fail(str(error))
    typer.echo(json.dumps(report) if as_json else format_report(report))


def score_command(
    texts: Annotated[list[str] | None, typer.Argument(help="texts to score (default: one per stdin line)")] = None,
    model: Annotated[Path | None, Opt(help="model directory (default: MODEL_DIR)")] = None,
) -> None:
    """Score texts locally with the model (JSON lines), without the streaming system."""
    from inference.artefact import ArtefactError
    from inference.scorer import Scorer

    try:
        scorer = Scorer.load(model or get_settings().model_dir)
    except ArtefactError as error:
        fail(str(error))
    lines = iter(texts) if texts else (line.rstrip("\n") for line in sys.stdin)
    while block := list(itertools.islice(lines, SCORE_BLOCK)):
        for text, result in zip(block, scorer.score(block), strict=True):
            typer.echo(json.dumps({"text": text, **result.__dict__}))


def lodo_command(
    like: Annotated[Path, Opt(help="model directory whose recorded training options are reused")],
    domain: Annotated[list[str], Opt(help="source to hold out (repeatable; at least three make a table)")],
    output: Annotated[Path, Opt(help="where the held-out models go")] = Path("var/lodo"),
    data: Annotated[Path | None, Opt(help="corpus (default: the one the model was trained on)")] = None,
    init_from: Annotated[Path | None, Opt(help="warm start (must not have seen the held-out domains)")] = None,
    epochs: Annotated[int | None, Opt(min=1, help="override the recorded epochs")] = None,
    epoch_rows: Annotated[int | None, Opt(min=0, help="override the recorded rows per epoch")] = None,
    validation_split: Annotated[float | None, Opt(min=0.0, max=0.9)] = None,
    sample_rows: Annotated[int, Opt(min=1, help="held-out rows scored per domain (seeded sample)")] = 3000,
    max_minutes: Annotated[float, Opt(min=0, help="training time per domain (0 = no limit)")] = 0,
    together: Annotated[bool, Opt(help="one model trained without all the domains (stricter, one run's time)")] = False,
    head: Annotated[bool, Opt(help="also score each held-out model with a TF-IDF head (reviewpulse head)")] = False,
    reuse: Annotated[bool, Opt(help="score held-out models already in OUTPUT instead of training them again")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Leave-one-domain-out: per held-out source, the CNN against TF-IDF trained on the same rows."""
    from dataclasses import replace

    from inference.artefact import ArtefactError, read_card
    from inference.training.data import DataError
    from inference.training.domains import format_table, leave_one_domain_out
    from inference.training.options import TrainOptions

    try:
        recorded = read_card(like).training
    except ArtefactError as error:
        fail(str(error))
    options = TrainOptions.from_record(recorded)
    overrides: dict[str, Any] = {"epochs": epochs, "epoch_rows": epoch_rows, "validation_split": validation_split,
                 "data": str(data) if data else None}
    options = replace(options, output=str(output), init_from=str(init_from or ""), checkpoint_dir="",
                      **{k: v for k, v in overrides.items() if v is not None})
    try:
        result = leave_one_domain_out(options, domain, sample_rows, max_minutes, together, head, reuse)
    except (DataError, ValueError) as error:
        fail(str(error))
    typer.echo(json.dumps(result) if as_json else format_table(result))


def head_command(
    model: Annotated[Path, Opt(help="trained base model directory (its model.json names its corpus and split)")],
    output: Annotated[Path, Opt(help="where the model with its head is written")],
    as_json: JsonFlag = False,
) -> None:
    """Stack a TF-IDF head on a base model: fitted on half its validation split, measured on the other half."""
    from inference.artefact import ArtefactError
    from inference.training.base_head import put_head_on_base
    from inference.training.data import DataError

    try:
        result = put_head_on_base(model, output, progress=not as_json)
    except (ArtefactError, DataError, ValueError) as error:
        fail(str(error))
    if as_json:
        typer.echo(json.dumps(result))
        return
    for name in ("base", "with_head"):
        figures = result[name]
        typer.echo(f"{name:<10} macro-F1 {figures['macro_f1']:.4f}  accuracy {figures['accuracy']:.4f}  F1 per class "
                   + " / ".join(f"{value:.3f}" for value in figures["f1"].values()))
    typer.echo(f"on {result['rows']} rows ({result['measured_on']}); model {result['model']} written to "
               f"{result['directory']}")


def baseline_command(
    model: Annotated[Path | None, Opt(help="model directory (default: MODEL_DIR)")] = None,
    split_of: Annotated[Path | None, Opt(help="use this model's validation split instead of the model's own")] = None,
    tfidf: Annotated[bool, Opt(help="also train and score the TF-IDF baseline")] = True,
) -> None:
    """The model against TF-IDF on the model's own validation split (rebuilt from model.json), as JSON."""
    from inference.artefact import ArtefactError
    from inference.training.data import DataError
    from inference.training.domains import validation_comparison

    try:
        typer.echo(json.dumps(validation_comparison(model or get_settings().model_dir, split_of, tfidf), indent=2))
    except (ArtefactError, DataError) as error:
        fail(str(error))


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("lodo")(lodo_command)
    app.command("head")(head_command)
    app.command("baseline")(baseline_command)
    app.command("evaluate")(evaluate_command)
    app.command("score")(score_command)
