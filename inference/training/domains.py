"""Held-out figures next to TF-IDF on the same rows: the validation split, and unseen domains.

Leave-one-domain-out tells how the model does on a site it has never seen.

Users point ReviewPulse at review sites the model was not trained on, so options
are judged per held-out domain: train without one source, score a seeded sample
of that source's rows, and train the TF-IDF baseline on exactly the same rows for
comparison. ``reviewpulse lodo`` prints the table docs/model.md quotes.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from inference.scorer import Scorer
from inference.training.base_head import put_head_on_base
from inference.training.corpus import split_reviews
from inference.training.data import read_labelled_csv
from inference.training.evaluate import tfidf_baseline
from inference.training.metrics import classification_report, summary
from inference.training.options import TrainOptions
from inference.training.train import train

#: The table's columns: the network, the network with a TF-IDF head (``--head``), the baseline.
MODELS = {"cnn": "CNN F1", "with_head": "CNN+head F1", "tfidf": "TF-IDF F1"}


def held_out_sample(options: TrainOptions, domain: str, rows: int, seed: int = 0) -> tuple[list[str], list[int]]:
    """A seeded sample of the domain's labelled rows (all of them when there are fewer)."""
    reviews = read_labelled_csv(options.data, options.text_column, options.label_column, options.source_column,
                                options.group_labels, options.ignore_center)
    mine = [i for i, source in enumerate(reviews.sources) if source == domain]
    if not mine:
        raise ValueError(f"{options.data}: no rows of source {domain!r}")
    picked = sorted(random.Random(seed).sample(mine, min(rows, len(mine))))
    return [reviews.texts[i] for i in picked], [reviews.labels[i] for i in picked]


def lodo_name(domains: list[str]) -> str:
    """The held-out model's name: ``lodo-`` and the sources joined by dots, a name the registry accepts.

    Versions are the name plus a timestamp, and the registry takes 1-128 letters, digits,
    '.', '_' or '-' (``stream.registry.store.VERSION_PATTERN``); a long list is named by its size and a hash.
    """
    name = "lodo-" + ".".join(domains)
    if len(name) <= 100 and all(c.isalnum() or c in "._-" for c in name):
        return name
    return f"lodo-{len(domains)}-sources-{hashlib.sha256(' '.join(domains).encode()).hexdigest()[:12]}"


def held_out_domains(options: TrainOptions, domains: list[str], sample_rows: int, max_minutes: float,
                     head: bool = False, reuse: bool = False) -> list[dict[str, Any]]:
    """Train once without every source in ``domains``; per domain, the CNN against TF-IDF on its rows.

    ``head``: the held-out model with a TF-IDF head too (:mod:`inference.training.base_head`).
    ``reuse``: a held-out model already in the output directory is scored, not trained again.
    """
    options = replace(options, exclude_sources=(*options.exclude_sources, *domains), model_name=lodo_name(domains))
    directory = Path(options.output) / options.model_name
    started = time.monotonic()
    if not (reuse and (directory / "model.json").is_file()):
        train(options, max_minutes)
    train_seconds = time.monotonic() - started
    models = {"cnn": directory}
    if head:
        models["with_head"] = Path(put_head_on_base(directory, directory.with_name(directory.name + "-head"),
                                                    progress=False)["directory"])
    reviews, train_rows, _ = split_reviews(options)
    baseline = tfidf_baseline([reviews.texts[i] for i in train_rows], [reviews.labels[i] for i in train_rows],
                              options.balance)
    classes = list(reviews.classes)
    scorers = {name: Scorer.load(path) for name, path in models.items()}
    table = []
    for domain in domains:
        texts, labels = held_out_sample(options, domain, sample_rows)
        row: dict[str, Any] = {"domain": domain, "held_out_rows": len(texts), "training_rows": int(len(train_rows)),
                               "held_out_together": list(domains), "cnn_train_seconds": round(train_seconds)}
        for name, scorer in scorers.items():
            row[name] = summary(classification_report(labels, scorer.probabilities(texts).argmax(1), classes))
        row["tfidf"] = summary(classification_report(labels, np.asarray(baseline.predict(texts)), classes))
        table.append(row)
    return table


def leave_one_domain_out(options: TrainOptions, domains: list[str], sample_rows: int = 3000,
                         max_minutes: float = 0.0, together: bool = False, head: bool = False,
                         reuse: bool = False) -> dict[str, Any]:
    """One row per held-out domain, plus the mean macro-F1 of each model.

    ``together`` trains one model without all of them: a quarter of the CPU time for
    four domains, and stricter, since no held-out domain's neighbours in the list help.
    """
    groups = [domains] if together else [[domain] for domain in domains]
    table = [row for group in groups
             for row in held_out_domains(options, group, sample_rows, max_minutes, head, reuse)]
    return {"domains": table,
            "mean_macro_f1": {name: round(float(np.mean([row[name]["macro_f1"] for row in table])), 4)
                              for name in MODELS if name in table[0]}}


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
              "cnn_raw": summary(classification_report(labels, raw, classes)),
              "cnn": summary(classification_report(labels, calibrated.argmax(1), classes))}
    if tfidf:
        baseline = tfidf_baseline([reviews.texts[i] for i in train_rows], [reviews.labels[i] for i in train_rows],
                                  options.balance)
        result["tfidf"] = summary(classification_report(labels, np.asarray(baseline.predict(texts)), classes))
    return result


def format_table(result: dict[str, Any]) -> str:
    """Macro-F1 per held-out domain and model, and the means."""
    names = list(result["mean_macro_f1"])
    lines = [f"{'held-out domain':<28}{'rows':>7}" + "".join(f"{MODELS[name]:>16}" for name in names)]
    for row in result["domains"]:
        lines.append(f"{row['domain']:<28}{row['held_out_rows']:>7}"
                     + "".join(f"{row[name]['macro_f1']:>16.4f}" for name in names))
    lines.append(f"{'mean':<28}{'':>7}" + "".join(f"{result['mean_macro_f1'][name]:>16.4f}" for name in names))
    return "\n".join(lines)
