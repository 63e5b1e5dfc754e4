"""Held-out figures next to TF-IDF on the same rows: the validation split, and unseen domains.

Leave-one-domain-out tells how the model does on a site it has never seen.

Users point ReviewPulse at review sites the model was not trained on, so options
are judged per held-out domain: train without one source, score a seeded sample
of that source's rows, and train the TF-IDF baseline on exactly the same rows for
comparison. ``reviewpulse lodo`` prints the table docs/model.md quotes.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from inference.scorer import Scorer
from inference.training.corpus import split_reviews
from inference.training.data import read_labelled_csv
from inference.training.evaluate import tfidf_baseline
from inference.training.metrics import classification_report
from inference.training.options import TrainOptions
from inference.training.train import train


def held_out_sample(options: TrainOptions, domain: str, rows: int, seed: int = 0) -> tuple[list[str], list[int]]:
    """A seeded sample of the domain's labelled rows (all of them when there are fewer)."""
    reviews = read_labelled_csv(options.data, options.text_column, options.label_column, options.source_column,
                                options.group_labels, options.ignore_center)
    mine = [i for i, source in enumerate(reviews.sources) if source == domain]
    if not mine:
        raise ValueError(f"{options.data}: no rows of source {domain!r}")
    picked = sorted(random.Random(seed).sample(mine, min(rows, len(mine))))
    return [reviews.texts[i] for i in picked], [reviews.labels[i] for i in picked]


def one_domain(options: TrainOptions, domain: str, sample_rows: int, max_minutes: float) -> dict[str, Any]:
    """Train without ``domain`` and compare the CNN with TF-IDF on its rows."""
    options = replace(options, exclude_sources=(*options.exclude_sources, domain), model_name=f"lodo-{domain}")
    started = time.monotonic()
    train(options, max_minutes)
    directory = Path(options.output) / options.model_name
    texts, labels = held_out_sample(options, domain, sample_rows)
    classes = list(read_labelled_csv(options.data, max_rows=1).classes)
    cnn = classification_report(labels, Scorer.load(directory).probabilities(texts).argmax(1), classes)
    train_seconds = time.monotonic() - started
    reviews, train_rows, _ = split_reviews(options)
    baseline = tfidf_baseline([reviews.texts[i] for i in train_rows], [reviews.labels[i] for i in train_rows],
                              options.balance)
    tfidf = classification_report(labels, np.asarray(baseline.predict(texts)), classes)
    return {"domain": domain, "held_out_rows": len(texts), "training_rows": int(len(train_rows)),
            "cnn": _summary(cnn), "tfidf": _summary(tfidf), "cnn_train_seconds": round(train_seconds)}


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    return {"macro_f1": report["macro_f1"], "accuracy": report["accuracy"],
            "f1": {name: row["f1"] for name, row in report["per_class"].items()}}


def leave_one_domain_out(options: TrainOptions, domains: list[str], sample_rows: int = 3000,
                         max_minutes: float = 0.0) -> dict[str, Any]:
    """One row per held-out domain, plus the mean macro-F1 of each model."""
    table = [one_domain(options, domain, sample_rows, max_minutes) for domain in domains]
    return {"domains": table,
            "mean_macro_f1": {name: round(float(np.mean([row[name]["macro_f1"] for row in table])), 4)
                              for name in ("cnn", "tfidf")}}


def validation_comparison(model_dir: str | Path, split_of: str | Path | None = None, tfidf: bool = True) -> dict[str, Any]:
    """The model (raw and calibrated) and TF-IDF on a validation split, per class.

    The split is the model's own, or that of the model in ``split_of`` (to compare an
    older model on a newer model's validation rows; TF-IDF then trains on that model's
    training rows).
    """
    from inference.artefact import read_card

    scorer = Scorer.load(model_dir)
    options = TrainOptions.from_record(read_card(split_of).training if split_of else scorer.card.training)
    reviews, train_rows, validation_rows = split_reviews(options)
    texts = [reviews.texts[i] for i in validation_rows]
    labels = [reviews.labels[i] for i in validation_rows]
    classes = list(reviews.classes)
    calibrated = scorer.probabilities(texts)
    bias = np.asarray(scorer.card.calibration.get("class_bias") or np.zeros(len(classes)))
    raw = (np.log(np.maximum(calibrated, 1e-30)) - bias).argmax(1)
    result = {"model": scorer.version, "split_of": str(split_of or model_dir), "validation_rows": len(texts),
              "training_rows": int(len(train_rows)),
              "cnn_raw": _summary(classification_report(labels, raw, classes)),
              "cnn": _summary(classification_report(labels, calibrated.argmax(1), classes))}
    if tfidf:
        baseline = tfidf_baseline([reviews.texts[i] for i in train_rows], [reviews.labels[i] for i in train_rows],
                                  options.balance)
        result["tfidf"] = _summary(classification_report(labels, np.asarray(baseline.predict(texts)), classes))
    return result


def format_table(result: dict[str, Any]) -> str:
    lines = [f"{'held-out domain':<28}{'rows':>7}{'CNN F1':>9}{'TF-IDF F1':>11}"]
    for row in result["domains"]:
        lines.append(f"{row['domain']:<28}{row['held_out_rows']:>7}{row['cnn']['macro_f1']:>9.4f}"
                     f"{row['tfidf']['macro_f1']:>11.4f}")
    mean = result["mean_macro_f1"]
    lines.append(f"{'mean':<28}{'':>7}{mean['cnn']:>9.4f}{mean['tfidf']:>11.4f}")
    return "\n".join(lines)
