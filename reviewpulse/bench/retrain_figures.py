"""The learning-loop figure: a model that never saw a source, retrained on N of its labelled reviews.

For each N: the first N reviews of a seeded shuffle of SOURCE's rows in the corpus are the
labelled rows ``reviewpulse retrain`` would have fetched; the candidate is built with the same
code it runs (``inference.training.candidates.build_candidate``, replay from the parent's own corpus) from
PARENT, and scored on EVAL_ROWS other reviews of the same source, before and after, next to
TF-IDF + logistic regression trained on exactly the candidate's training rows (in-domain
training split + replay). With ``--gates`` each candidate is also judged against PARENT as
``reviewpulse retrain`` judges it (the fixed validation set of PARENT's base corpus and the
candidate's own hold-out, the default rules), so "the gates pass" is a figure too. Run from
the repository root:

    .venv/bin/python -m reviewpulse.bench.retrain_figures --corpus ../shared/data/reviews_train.csv \
        --parent var/v1 --source skytrax_airlines --sizes 500,1000,3000 --gates

``var/v1`` is the shipped v1 model (trained on the first 127,427 rows of
reviews_train.csv, which hold none of the v2 sources).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from inference.artefact import read_card
from inference.scorer import Scorer
from inference.training.base_corpus import base_max_rows
from inference.training.candidates import LabelledRow, RetrainOptions, build_candidate, clean_rows, training_mix
from inference.training.data import any_cell_size, star_to_class
from inference.training.evaluate import tfidf_baseline
from inference.training.metrics import classification_report
from reviewpulse.bench.report import Column, table

COLUMNS = (Column("n", "N", ","), Column("before", "CNN before", ".3f"), Column("after", "CNN after retrain", ".3f"),
           Column("tfidf", "TF-IDF (same rows)", ".3f"), Column("retrain_s", "retrain time (s)", ".0f"))
GATE_COLUMNS = (Column("gates_passed", "gates passed"), Column("fixed_before", "fixed set before", ".3f"),
                Column("fixed_after", "fixed set after", ".3f"), Column("worst_domain_change", "worst source", "+.3f"))


def source_rows(corpus: Path, source: str, skip_rows: int) -> list[LabelledRow]:
    """SOURCE's rows after the first ``skip_rows`` (the parent's own corpus prefix), file order."""
    rows = []
    with any_cell_size(), corpus.open(encoding="utf-8", newline="") as handle:
        for number, row in enumerate(csv.DictReader(handle)):
            if number >= skip_rows and row["source"] == source:
                rows.append(LabelledRow(row["text"], int(float(row["rating"])), source))
    return rows


def macro_f1(predicted: np.ndarray, rows: list[LabelledRow]) -> float:
    labels = [star_to_class(r.rating) for r in rows]
    return float(classification_report(labels, predicted, ["bad", "average", "good"])["macro_f1"])


def gate_verdict(candidate: Any, parent: str, corpus: str, data_dir: Path) -> dict[str, Any]:
    """``reviewpulse retrain``'s measurement and verdict for ``candidate`` against ``parent``, default rules.

    The fixed validation set is built afresh in ``data_dir`` from the parent's base corpus,
    as a new deployment's first retrain builds it.
    """
    from inference.training.gates import judge
    from kernel.settings import Settings
    from stream.learning.retraining import evaluate_pair, gate_rules

    settings = Settings(data_dir=data_dir)
    mine, theirs, _ = evaluate_pair(settings, candidate.path, parent, read_card(parent), candidate.holdout, corpus)
    verdict = judge(mine, theirs, gate_rules(settings))
    falls = [mine["fixed"]["per_source"][s]["macro_f1"] - theirs["fixed"]["per_source"][s]["macro_f1"]
             for s in mine["fixed"]["per_source"]]
    return {"gates_passed": verdict.passed, "gate_reasons": verdict.reasons,
            "fixed_before": round(theirs["fixed"]["macro_f1"], 4), "fixed_after": round(mine["fixed"]["macro_f1"], 4),
            "holdout_before": round(theirs["holdout"]["macro_f1"], 4),
            "holdout_after": round(mine["holdout"]["macro_f1"], 4), "worst_domain_change": round(min(falls, default=0.0), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", default="skytrax_airlines")
    parser.add_argument("--parent", default="var/v1")
    parser.add_argument("--corpus", required=True, help="the base training CSV, replayed beside the new rows")
    parser.add_argument("--sizes", default="500,1000,3000")
    parser.add_argument("--eval-rows", type=int, default=3000)
    parser.add_argument("--strategy", default="stack")
    parser.add_argument("--epochs", type=int, default=0)
    parser.add_argument("--replay-rows", default="0",
                        help="corpus rows replayed: a number (0 = the strategy's default) or 'same' (as many as in-domain)")
    parser.add_argument("--gates", action="store_true", help="judge each candidate against PARENT with the gates")
    parser.add_argument("--json", dest="as_json", action="store_true")
    args = parser.parse_args()

    from stream.learning.retraining import replay_rows

    card = read_card(args.parent)
    # a parent that read a prefix of the corpus (v1) never saw the rows after it; one trained without
    # the source (`reviewpulse lodo`) never saw any of them
    rows = source_rows(Path(args.corpus), args.source, base_max_rows(card.training) or 0)
    random.Random(0).shuffle(rows)
    evaluation, pool = rows[: args.eval_rows], rows[args.eval_rows:]
    replay, note = replay_rows(card, args.corpus)
    texts = [r.text for r in evaluation]
    started = time.monotonic()
    before = macro_f1(Scorer.load(args.parent, device="cpu").probabilities(texts).argmax(1), evaluation)
    parent_per_s = len(texts) / (time.monotonic() - started)
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        labelled = pool[:size]
        options = RetrainOptions(strategy=args.strategy, epochs=args.epochs, min_rows=1, progress=False)
        options.replay_rows = len(training_mix(clean_rows(labelled)[0], options, None)[0]) \
            if args.replay_rows == "same" else int(args.replay_rows)
        with tempfile.TemporaryDirectory() as tmp:
            candidate = build_candidate(args.parent, labelled, Path(tmp) / "candidate", f"bench-{size}", options,
                                        replay, note)
            scorer = Scorer.load(candidate.path, device="cpu")
            started = time.monotonic()
            after = macro_f1(scorer.probabilities(texts).argmax(1), evaluation)
            scoring_s = time.monotonic() - started
            verdict = gate_verdict(candidate, args.parent, args.corpus, Path(tmp)) if args.gates else {}
        train_rows, _, replayed = training_mix(clean_rows(labelled)[0], options, replay)
        mix = train_rows + replayed
        started = time.monotonic()
        tfidf = tfidf_baseline([r.text for r in mix], [star_to_class(r.rating) for r in mix], balanced=True)
        tfidf_s = time.monotonic() - started
        results.append({
            "n": size, "trained_in_domain": len(train_rows), "replayed": len(replayed),
            "before": round(before, 4), "after": round(after, 4),
            "tfidf": round(macro_f1(np.asarray(tfidf.predict(texts)), evaluation), 4),
            "retrain_s": candidate.seconds, "tfidf_fit_s": round(tfidf_s, 1),
            "candidate_scoring_reviews_per_s": round(len(texts) / scoring_s, 1),
            **verdict,
        })
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    summary = {"source": args.source, "parent": card.version, "eval_rows": len(evaluation), "replay": note,
               "parent_scoring_reviews_per_s": round(parent_per_s, 1),
               "strategy": args.strategy, "results": results}
    if args.as_json:
        print(json.dumps(summary, indent=2))
        return
    print(table(COLUMNS + (GATE_COLUMNS if args.gates else ()), results, markdown=True))


if __name__ == "__main__":
    main()
