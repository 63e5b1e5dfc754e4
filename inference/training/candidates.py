"""Build a candidate model from labelled in-domain rows, starting from the active model.

The caller (``reviewpulse retrain``, stream/learning/retraining.py) fetches the rows; this
module cleans them, keeps an in-domain hold-out the gates judge on, mixes in a
replay sample of the corpus the active model was trained on (so it does not forget
other domains), and trains with one of two strategies:

* ``stack`` (default): the active model's network unchanged, its TF-IDF head
  (inference/tfidf_head.py) fitted anew: a TF-IDF word model on the in-domain and
  replayed rows (in-domain ones weighing half the replay in total), stacked on the
  network's log-probabilities by a scaled layer fitted on in-domain rows only, out of
  fold (inference/training/stacking.py). Minutes on a CPU. An active model that already
  ends in a head (the shipped one) keeps it and its word model learns a correction
  from the same rows instead: seconds.
* ``head``: the active model's CNN frozen, a new word n-gram branch and
  output layer trained on cached CNN features (inference/training/head.py). Minutes on a CPU.
* ``finetune``: the whole network through ``inference.training.train.train`` with
  ``init_from`` the active model (widened with the word branch), on a temporary CSV.

Either way the candidate is an ordinary artefact directory (``Scorer.load(path)``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from inference.artefact import CONFIG_FILE, ModelCard, load_artefact, network_shape, read_card, save_artefact
from inference.precision import native_candidates
from inference.training.base_corpus import base_max_rows, base_training
from inference.training.data import star_to_class
from inference.training.precision_gate import record_precision_gate

STRATEGIES = ("stack", "head", "finetune")
DEFAULT_EPOCHS = {"stack": 0, "head": 10, "finetune": 3}


class RetrainError(ValueError):
    """Retraining cannot start (too few rows, bad options); the message says what to change."""


@dataclass
class LabelledRow:
    text: str
    rating: int
    source: str
    #: How much the row counts: admin labels from the label queue weigh more.
    weight: float = 1.0


@dataclass
class RetrainOptions:
    strategy: str = "stack"
    epochs: int = 0  # 0 = the strategy's default
    min_rows: int = 300
    holdout_fraction: float = 0.2
    #: Replayed corpus rows; 0 = the strategy's default: ``max_replay_rows`` for stack (replay costs it a
    #: sparse fit, no network pass, and keeps the other domains: the gates), else as many as in-domain rows.
    replay_rows: int = 0
    max_replay_rows: int = 5000
    #: ``stack``: in-domain rows weigh this share of the replay's total weight in the word model (never less than
    #: once each). 0.5 against 1.0 on telecom and skytrax, N = 500-3,000: in-domain macro-F1 -0.003 to +0.004,
    #: the fixed set's worst domain -0.037 instead of -0.068 (skytrax, N = 3,000). The other strategies: 1.0.
    in_domain_share: float = 0.5
    #: Corpus to replay and to draw the fixed validation set from; empty = the active model's training.data.
    corpus: str = ""
    word_buckets: int = 1 << 17
    word_dim: int = 32
    lr: float = 1e-3
    word_lr: float = 2e-2
    seed: int = 42
    progress: bool = True


@dataclass
class Candidate:
    version: str
    path: Path
    training_rows: int
    sources: dict[str, int]
    data_hash: str
    holdout: list[LabelledRow]
    skipped: dict[str, Any]
    replay: dict[str, Any]
    seconds: float
    report: dict[str, Any] = field(default_factory=dict)


def clean_rows(rows: list[LabelledRow]) -> tuple[list[LabelledRow], dict[str, Any]]:
    """Rows a model can learn from, and counts of the others by reason.

    Skipped: empty text, a rating that is not a whole number 1-5, and every row of a
    source whose rows all fall in one class (it teaches nothing but a prior).
    """
    skipped: Counter[str] = Counter()
    kept = []
    for row in rows:
        if not isinstance(row.text, str) or not row.text.strip():
            skipped["empty text"] += 1
        elif isinstance(row.rating, bool) or not isinstance(row.rating, int) or not 1 <= row.rating <= 5:
            skipped["rating outside 1-5"] += 1
        else:
            kept.append(row)
    classes: dict[str, set[int]] = {}
    for row in kept:
        classes.setdefault(row.source, set()).add(star_to_class(row.rating))
    single = sorted(source for source, seen in classes.items() if len(seen) < 2)
    if single:
        skipped["source with only one class"] = sum(1 for row in kept if row.source in single)
        kept = [row for row in kept if row.source not in single]
    return kept, {"rows": sum(skipped.values()), "by_reason": dict(skipped), "single_class_sources": single}


def split_holdout(rows: list[LabelledRow], fraction: float, seed: int) -> tuple[list[LabelledRow], list[LabelledRow]]:
    """Seeded (train, hold-out) split within each source, so every source is judged on its own rows."""
    by_source: dict[str, list[LabelledRow]] = {}
    for row in rows:
        by_source.setdefault(row.source, []).append(row)
    train, holdout = [], []
    for source in sorted(by_source):
        mine = list(by_source[source])
        random.Random(f"{seed}:{source}").shuffle(mine)
        cut = max(int(round(len(mine) * fraction)), 1) if fraction > 0 and len(mine) > 1 else 0
        holdout.extend(mine[:cut])
        train.extend(mine[cut:])
    return train, holdout


def training_mix(kept: list[LabelledRow], options: RetrainOptions, replay: list[LabelledRow] | None
                 ) -> tuple[list[LabelledRow], list[LabelledRow], list[LabelledRow]]:
    """(in-domain training rows, hold-out, replayed corpus rows), seeded: the rows a candidate learns from."""
    train_rows, holdout = split_holdout(kept, options.holdout_fraction, options.seed)
    count = options.replay_rows or (options.max_replay_rows if options.strategy == "stack" else len(train_rows))
    replayed = random.Random(options.seed).sample(replay, min(count, options.max_replay_rows, len(replay))) \
        if replay else []
    return train_rows, holdout, replayed


def data_hash(rows: list[LabelledRow]) -> str:
    """SHA-256 of the training mix, independent of row order."""
    digest = hashlib.sha256()
    for line in sorted(f"{r.source}\t{r.rating}\t{r.weight}\t{r.text}" for r in rows):
        digest.update(line.encode("utf-8", "surrogatepass") + b"\n")
    return digest.hexdigest()


def new_version(parent_name: str, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{parent_name}-r{now:%Y%m%d%H%M%S}"


def _labels(rows: list[LabelledRow]) -> np.ndarray:
    return np.asarray([star_to_class(r.rating) for r in rows], dtype=np.int64)


def build_candidate(active_dir: str | Path, rows: list[LabelledRow], output_dir: str | Path, version: str,
                    options: RetrainOptions, replay: list[LabelledRow] | None, replay_note: str) -> Candidate:
    """Clean, split, mix and train; the candidate artefact is written to ``output_dir``.

    ``replay``: corpus rows to mix in (None when no corpus is available; the note says why).
    Raises :class:`RetrainError` below ``options.min_rows`` usable rows.
    """
    if options.strategy not in STRATEGIES:
        raise RetrainError(f"strategy must be one of {', '.join(STRATEGIES)}, not {options.strategy!r}")
    started = time.monotonic()
    kept, skipped = clean_rows(rows)
    if len(kept) < options.min_rows:
        raise RetrainError(
            f"only {len(kept)} usable labelled rows (of {len(rows)}; skipped {skipped['by_reason'] or 'none'}), "
            f"below --min-rows {options.min_rows}: label or import more reviews, widen --source/--since, "
            f"or lower --min-rows")
    train_rows, holdout, replayed = training_mix(kept, options, replay)
    mix = train_rows + replayed
    output_dir = Path(output_dir)
    if options.strategy == "stack":
        report = _fit_stack(active_dir, train_rows, replayed, output_dir, version, options)
    elif options.strategy == "head":
        report = _train_head(active_dir, train_rows, replayed, output_dir, version, options)
    else:
        report = _train_finetune(active_dir, mix, output_dir, version, options)
    sources = dict(Counter(r.source for r in train_rows))
    candidate = Candidate(
        version=version, path=output_dir, training_rows=len(mix), sources=sources, data_hash=data_hash(mix),
        holdout=holdout, skipped=skipped, seconds=round(time.monotonic() - started, 1), report=report,
        replay={"rows": len(replayed), "note": replay_note},
    )
    _write_card_extras(candidate, active_dir, options)
    # on the site's own hold-out, for the precisions this machine runs natively (int8 here: a faster worker)
    record_precision_gate(output_dir, [r.text for r in holdout], _labels(holdout).tolist(),
                          candidates=native_candidates("cpu"))
    return candidate


def _mix_weights(train_rows: list[LabelledRow], replayed: list[LabelledRow], share: float = 1.0) -> np.ndarray:
    """Each row's weight (admin labels count more); in-domain rows weigh at least ``share`` of the replay in total.

    More replay keeps the other domains; scaled up, a few hundred site rows still count.
    """
    weights = np.asarray([r.weight for r in train_rows + replayed], dtype=np.float64)
    if train_rows and share * len(replayed) > len(train_rows):
        weights[: len(train_rows)] *= share * len(replayed) / len(train_rows)
    return weights


def _fit_stack(active_dir: str | Path, train_rows: list[LabelledRow], replayed: list[LabelledRow],
               output_dir: Path, version: str, options: RetrainOptions) -> dict[str, Any]:
    from inference.training.stacking import StackOptions, fit_head, with_head

    parent, card, alphabet = load_artefact(active_dir)
    mix = train_rows + replayed
    # the stacking layer learns on in-domain rows only: the network trained on the replayed ones
    head, report = fit_head(parent, card, alphabet, [r.text for r in mix], _labels(mix),
                            _mix_weights(train_rows, replayed, options.in_domain_share),
                            StackOptions(seed=options.seed, buckets=options.word_buckets),
                            options.progress, stack_candidates=np.arange(len(train_rows)),
                            target_rows=np.arange(len(train_rows)))
    model = with_head(parent, head)
    new_card = ModelCard(
        name=card.name, version=version, alphabet=card.alphabet, max_length=card.max_length,
        classes=list(card.classes), created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        architecture=model.architecture(),
    )
    save_artefact(model, new_card, output_dir)
    return report


def _train_head(active_dir: str | Path, train_rows: list[LabelledRow], replayed: list[LabelledRow],
                output_dir: Path, version: str, options: RetrainOptions) -> dict[str, Any]:
    from inference.training.head import HeadOptions, hidden_features, train_head, widened_model

    parent, card, alphabet = load_artefact(active_dir)
    mix = train_rows + replayed
    texts = [r.text for r in mix]
    labels = _labels(mix)
    weights = _mix_weights(train_rows, replayed)
    # dev rows (best epoch, calibration): 10% of each part, seeded
    rng = np.random.default_rng(options.seed)
    dev_mask = np.zeros(len(mix), dtype=bool)
    for start, stop in ((0, len(train_rows)), (len(train_rows), len(mix))):
        size = stop - start
        if size > 1:
            dev_mask[start + rng.choice(size, max(size // 10, 1), replace=False)] = True
    head_options = HeadOptions(epochs=options.epochs or DEFAULT_EPOCHS["head"], lr=options.lr,
                               word_lr=options.word_lr, word_buckets=options.word_buckets,
                               word_dim=options.word_dim, seed=options.seed)
    hidden = hidden_features(parent, alphabet, texts, options.progress)
    head, bias, report = train_head(parent, hidden, texts, labels, weights, np.flatnonzero(~dev_mask),
                                    np.flatnonzero(dev_mask), head_options, options.progress)
    model = widened_model(parent, head)
    new_card = ModelCard(
        name=card.name, version=version, alphabet=card.alphabet, max_length=card.max_length,
        classes=list(card.classes), created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        architecture=model.architecture(),
        calibration={"class_bias": [round(float(b), 6) for b in bias],
                     "fitted_on": "retrain dev rows (in-domain + replay), classes balanced"} if bias.any() else {},
    )
    save_artefact(model, new_card, output_dir)
    return report


def write_mix_csv(rows: list[LabelledRow], path: Path) -> None:
    """text,rating,source; a row of weight w is written round(w) times (at least once)."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "rating", "source"])
        for row in rows:
            for _ in range(max(int(round(row.weight)), 1)):
                writer.writerow([row.text, row.rating, row.source])


def _train_finetune(active_dir: str | Path, mix: list[LabelledRow], output_dir: Path, version: str,
                    options: RetrainOptions) -> dict[str, Any]:
    from inference.training.options import TrainOptions
    from inference.training.train import train

    card = read_card(active_dir)
    shape = network_shape(card)
    with tempfile.TemporaryDirectory(prefix="reviewpulse-retrain-") as tmp:
        data = Path(tmp) / "mix.csv"
        write_mix_csv(mix, data)
        epochs = options.epochs or DEFAULT_EPOCHS["finetune"]
        train_options = TrainOptions(
            data=str(data), balance=True, validation_split=0.1, max_length=card.max_length, epochs=epochs,
            lr=options.lr, schedule=max(epochs, 1), patience=epochs, seed=options.seed, model_name="candidate",
            output=tmp, word_buckets=shape["word_buckets"] or options.word_buckets,
            word_dim=shape["word_dim"] or options.word_dim, filters=shape["filters"], char_dim=shape["char_dim"],
            init_from=str(active_dir),
            checkpoint_dir=str(Path(tmp) / "checkpoint"), calibrate=True,
            gate_precision=False,  # build_candidate gates the candidate on the in-domain hold-out
        )
        built = train(train_options)
        if built is None:
            raise RetrainError("training stopped before its last epoch")
        if output_dir.exists():
            shutil.rmtree(output_dir)
        shutil.copytree(built, output_dir)
    config = output_dir / CONFIG_FILE
    saved = json.loads(config.read_text(encoding="utf-8"))
    saved.update(name=card.name, version=version)
    config.write_text(json.dumps(saved, indent=2) + "\n", encoding="utf-8")
    history = json.loads((output_dir / "metrics.json").read_text(encoding="utf-8"))
    return {"best_epoch": history.get("best_epoch"),
            "epochs": [{"epoch": e["epoch"], "val_macro_f1": e["macro_f1"]} for e in history.get("epochs", [])]}


def _write_card_extras(candidate: Candidate, active_dir: str | Path, options: RetrainOptions) -> None:
    """Record lineage, rows and options in model.json; the hold-out as holdout.csv beside it."""
    config = candidate.path / CONFIG_FILE
    saved = json.loads(config.read_text(encoding="utf-8"))
    parent = read_card(active_dir)
    base = base_training(parent)
    saved["data_sha256"] = candidate.data_hash
    saved["training"] = {
        # data/max_rows name the base corpus, so tools that rebuild a model's split (evaluate's baseline,
        # the next retrain's replay and fixed validation set) find the corpus the lineage started from
        "data": base.get("data", ""), "max_rows": base_max_rows(base),
        "retrain": {**asdict(options), "parent_version": parent.version, "parent_dir": str(active_dir)},
        "rows": candidate.training_rows, "sources": candidate.sources, "replay": candidate.replay,
        "skipped": candidate.skipped, "seconds": candidate.seconds, "report": candidate.report,
        "base_training": base,
    }
    config.write_text(json.dumps(saved, indent=2) + "\n", encoding="utf-8")
    with (candidate.path / "holdout.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "rating", "source"])
        writer.writerows([r.text, r.rating, r.source] for r in candidate.holdout)
