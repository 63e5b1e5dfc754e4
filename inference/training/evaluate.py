"""Evaluate a model on any labelled CSV, next to a TF-IDF + logistic-regression baseline.

The baseline is trained on the model's own training split (rebuilt from the
options and seed in ``model.json``), so a user sees whether the CNN earns its keep
on their data.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from inference.precision import CANDIDATES
from inference.scorer import Scorer
from inference.training.data import read_labelled_csv
from inference.training.metrics import classification_report
from inference.training.precision_gate import GATE_TEXTS, precision_gate, write_precision

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

#: Texts handed to the scorer at a time: only for the progress bar; the scorer sorts and slices each block.
PROGRESS_BLOCK = 8192


def model_predictions(scorer: Scorer, texts: list[str], progress: bool = True) -> np.ndarray:
    """Predicted class per text, through the scorer's default path (``Scorer.probabilities``)."""
    from tqdm import tqdm

    predicted = np.zeros(len(texts), dtype=np.int64)
    blocks = range(0, len(texts), PROGRESS_BLOCK)
    for start in tqdm(blocks, desc="scoring", unit="block", disable=not progress or len(blocks) < 2):
        predicted[start : start + PROGRESS_BLOCK] = scorer.probabilities(texts[start : start + PROGRESS_BLOCK]).argmax(1)
    return predicted


def tfidf_baseline(texts: list[str], labels: list[int], balanced: bool = False) -> Pipeline:
    """TF-IDF word 1-2 grams + logistic regression, the baseline every figure is compared with."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from threadpoolctl import threadpool_limits

    model = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=200_000, sublinear_tf=True),
        LogisticRegression(max_iter=1000, class_weight="balanced" if balanced else None),
    )
    with threadpool_limits(1):  # BLAS threads only spin on this small dense work (see inference/training/stacking.py)
        return model.fit(texts, labels)


def baseline_predictions(scorer: Scorer, texts: list[str]) -> tuple[np.ndarray, str] | None:
    """The baseline trained on the model's own training split (from model.json); None if unavailable."""
    from inference.training.corpus import split_reviews
    from inference.training.options import TrainOptions

    data = scorer.card.training.get("data")
    if not data or not Path(data).is_file():
        return None
    options = TrainOptions.from_record(scorer.card.training)
    reviews, train_rows, _ = split_reviews(options)
    baseline = tfidf_baseline([reviews.texts[i] for i in train_rows], [reviews.labels[i] for i in train_rows],
                              options.balance)
    return baseline.predict(texts), f"{options.data} (training split, {len(train_rows)} rows)"


def evaluate(
    model_dir: str | Path,
    data: str | Path,
    text_column: str = "text",
    label_column: str = "rating",
    baseline: bool = True,
    progress: bool = True,
    gate_texts: int = GATE_TEXTS,
    record_precision: bool = False,
) -> dict[str, Any]:
    """Report for the model (and the baseline) on a labelled CSV grouped like the model's classes.

    Also runs the precision gate (bf16 and int8 against fp32) on a seeded sample of
    ``gate_texts`` rows (0 = skip), next to what ``model.json`` recorded;
    ``record_precision`` writes this gate into ``model.json`` (int8's scales with it).
    """
    scorer = Scorer.load(model_dir)
    classes = scorer.classes
    reviews = read_labelled_csv(
        data, text_column, label_column,
        group_labels=len(classes) != 5, ignore_center=len(classes) == 2,
    )
    report = classification_report(reviews.labels, model_predictions(scorer, reviews.texts, progress), classes)
    report["model"] = {"dir": str(model_dir), "version": scorer.version}
    report["data"] = str(data)
    report["precision"] = {"used": scorer.precision, "recorded": scorer.card.precision}
    if gate_texts:
        report["precision"]["gate"] = precision_gate(scorer, reviews.texts, reviews.labels, gate_texts)
        if record_precision:
            write_precision(model_dir, report["precision"]["gate"])
            report["precision"]["recorded"] = report["precision"]["gate"]
    if baseline:
        result = baseline_predictions(scorer, reviews.texts)
        if result is not None:
            predicted, trained_on = result
            base = classification_report(reviews.labels, predicted, classes)
            report["baseline"] = {"name": "tfidf+logreg", "trained_on": trained_on, **base}
    return report


def format_report(report: dict[str, Any]) -> str:
    """Human-readable report: headline figures, per-class table and confusion matrix."""
    lines = [
        f"model {report['model']['version']} on {report['data']} ({report['n']} reviews)",
        f"  accuracy {report['accuracy']:.4f}   macro-F1 {report['macro_f1']:.4f}",
    ]
    if "baseline" in report:
        base = report["baseline"]
        lines.append(f"  baseline tfidf+logreg: accuracy {base['accuracy']:.4f}   macro-F1 {base['macro_f1']:.4f}")
    lines.extend(_precision_lines(report.get("precision", {})))
    lines.append(f"  {'class':<10}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}")
    for name, row in report["per_class"].items():
        lines.append(f"  {name:<10}{row['precision']:>10.4f}{row['recall']:>10.4f}{row['f1']:>10.4f}{row['support']:>10}")
    lines.append("  confusion (rows = true, columns = predicted): " + " ".join(report["classes"]))
    for name, row in zip(report["classes"], report["confusion"], strict=True):
        lines.append(f"  {name:<10}" + "".join(f"{v:>8}" for v in row))
    return "\n".join(lines)


def _precision_lines(precision: dict[str, Any]) -> list[str]:
    if not precision:
        return []
    lines = [f"  scored in {precision['used']} (SCORER_PRECISION)"]
    for source in ("gate", "recorded"):
        gate = precision.get(source) or {}
        for name in CANDIDATES:
            if "label_agreement" in gate.get(name, {}):
                row = gate[name]
                lines.append(
                    f"  {name} gate ({'this file' if source == 'gate' else 'model.json'}, {gate['texts']} texts): "
                    f"labels agree {row['label_agreement']:.2%}, macro-F1 {row['macro_f1']:.4f} vs fp32 "
                    f"{gate['fp32_macro_f1']:.4f} -> {'passed' if row['passed'] else 'failed'}"
                )
    return lines
