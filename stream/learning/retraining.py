"""``reviewpulse retrain`` end to end: rows -> candidate -> gates -> registry -> (promotion).

1. the labelled rows, read by the caller (from the running system or from ClickHouse:
   ``reviewpulse.system_client.read_labelled_rows``);
2. a candidate built from the ACTIVE model (inference/training/candidates.py), written to
   ``DATA_DIR/models/<version>/``;
3. both models measured on the fixed validation set and the in-domain hold-out, and
   judged (inference/training/gates.py);
4. the candidate registered with its metrics in the registry the caller hands in;
5. promoted when the gates pass (and ``promote`` is on), or with ``force`` past them — a
   forced promotion is logged as a warning and noted in the promotion history.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path
from typing import Any

from inference.training.candidates import LabelledRow, RetrainOptions
from kernel.languages import is_scored
from kernel.settings import Settings

log = logging.getLogger(__name__)


def gate_rules(settings: Settings) -> Any:
    from inference.training.gates import GateRules

    return GateRules(overall_margin=settings.gate_overall_margin, domain_margin=settings.gate_domain_margin,
                     min_gain=settings.gate_min_gain, domain_confidence=settings.gate_domain_confidence)


def replay_rows(card: Any, corpus: str) -> tuple[list[LabelledRow] | None, str]:
    """The base corpus's training rows to replay; None (and why) when the corpus is not there."""
    from inference.training.base_corpus import base_split
    from inference.training.data import DataError
    from inference.training.gates import CLASS_STARS

    try:
        reviews, train_rows, _, note = base_split(card, corpus)
    except DataError as error:
        return None, f"no replay, in-domain rows only: {error}"
    rows = [LabelledRow(reviews.texts[i], CLASS_STARS[reviews.classes[reviews.labels[i]]], reviews.sources[i])
            for i in train_rows]
    return rows, f"replayed from {note}"


def scored_language_rows(raw: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """The rows in a language the model reads, and how many others there were per language.

    A review in another language has no label to learn from the model's side and its stars
    would teach the English model noise (issue 32). Rows without ``language`` (a server not
    yet upgraded, rows stored before migration 8) are kept: they were always scored.
    """
    kept, skipped = [], Counter[str]()
    for row in raw:
        language = str(row.get("language") or "")
        if is_scored(language):
            kept.append(row)
        else:
            skipped[language] += 1
    return kept, dict(skipped)


def _rows(raw: list[dict[str, Any]]) -> list[LabelledRow]:
    # The rating is passed on as stored (NULL or out of range included): clean_rows drops and counts
    # those rows, so LabelledRow.rating is an int only after it; until then mypy cannot know.
    return [LabelledRow(str(r.get("text") or ""), r.get("rating"), str(r.get("source") or "unknown"),  # type: ignore[arg-type]
                        float(r.get("weight") or 1.0)) for r in raw]


def evaluate_pair(settings: Settings, candidate_path: Path, active_path: str, active_card: Any,
                  holdout: list[LabelledRow], corpus: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """``{"fixed", "holdout"}`` measurements of the candidate and of the active model."""
    from inference.scorer import Scorer
    from inference.training.data import DataError
    from inference.training.gates import (
        FIXED_SET_FILE,
        EvalSet,
        chance_worse,
        fixed_validation_set,
        measure_predictions,
        predict,
    )

    try:
        fixed = fixed_validation_set(Path(settings.data_dir) / "models" / FIXED_SET_FILE, active_card, corpus)
        fixed_note = fixed.note
    except DataError as error:
        fixed, fixed_note = EvalSet([], [], []), str(error)
    from inference.training.data import star_to_class

    held = EvalSet([r.text for r in holdout], [star_to_class(r.rating) for r in holdout], [r.source for r in holdout])
    result, on_fixed = [], []
    for path in (candidate_path, active_path):
        scorer = Scorer.load(path, device="cpu", threads=settings.scorer_threads)
        on_fixed.append(predict(scorer, fixed))
        result.append({"fixed": measure_predictions(on_fixed[-1], fixed, scorer.classes),
                       "holdout": measure_predictions(predict(scorer, held), held, scorer.classes)})
    if fixed.texts:  # how sure the candidate is worse per domain: the gates weigh each fall by it
        result[0]["fixed"]["chance_worse"] = chance_worse(on_fixed[0], on_fixed[1], fixed, len(scorer.classes))
    return result[0], result[1], fixed_note


def retrain(settings: Settings, rows: tuple[list[dict[str, Any]], str], registry: Any, options: RetrainOptions,
            promote: bool = True, force: bool = False, by: str = "reviewpulse retrain") -> dict[str, Any]:
    """Run steps 2-5 on ``rows`` (the stored rows, and where they came from); returns the report.

    ``registry`` has :class:`stream.registry.store.Registry`'s ``active``, ``register`` and
    ``promote`` (the storage's own, or a running system's over HTTP). The report holds
    ``version``, ``path``, ``metrics``, ``gates``, ``promoted`` ... Raises
    ``inference.training.candidates.RetrainError`` below ``options.min_rows`` usable rows.
    """
    from inference.artefact import read_card
    from inference.training.candidates import build_candidate, new_version
    from inference.training.gates import judge
    from stream.registry.store import ModelRecord, artefact_dir

    read, origin = rows
    raw, other_languages = scored_language_rows(read)
    if other_languages:
        log.info("skipping %d reviews in languages the model does not read: %s", sum(other_languages.values()),
                 other_languages)
    active = registry.active()
    card = read_card(active.path)
    corpus = options.corpus or settings.retrain_corpus
    replay, replay_note = replay_rows(card, corpus)
    if replay is None:
        log.warning("%s", replay_note)
    version = new_version(card.name)
    path = artefact_dir(settings, version).resolve()
    candidate = build_candidate(active.path, _rows(raw), path, version, options, replay, replay_note)
    mine, theirs, fixed_note = evaluate_pair(settings, path, active.path, card, candidate.holdout, corpus)
    verdict = judge(mine, theirs, gate_rules(settings))
    note = "passed the gates" if verdict.passed else "refused by the gates: " + "; ".join(verdict.reasons)
    registry.register(ModelRecord(
        version=version, path=str(path), parent_version=active.version, training_rows=candidate.training_rows,
        sources=candidate.sources, data_hash=candidate.data_hash,
        metrics={**mine["fixed"], "active": _summary(theirs["fixed"], active.version), "set": fixed_note,
                 "gates": verdict.as_dict()},
        holdout_metrics={**mine["holdout"], "active": _summary(theirs["holdout"], active.version)},
        note=f"{options.strategy} retrain on {candidate.training_rows} rows; {note}",
    ))
    promoted = False
    if force or (promote and verdict.passed):
        if force and not verdict.passed:
            log.warning("promoting %s past the gates (--force, by %s): %s", version, by, "; ".join(verdict.reasons))
        registry.promote(version, by=by, note="forced past the gates (--force)" if force and not verdict.passed
                         else "passed the gates")
        promoted = True
    return {
        "version": version, "path": str(path), "parent_version": active.version, "strategy": options.strategy,
        "rows_from": origin, "rows_read": len(read), "training_rows": candidate.training_rows,
        "skipped_languages": {"rows": sum(other_languages.values()), "by_language": other_languages},
        "sources": candidate.sources, "holdout_rows": len(candidate.holdout), "skipped": candidate.skipped,
        "replay": candidate.replay, "seconds": candidate.seconds,
        "metrics": {"fixed": mine["fixed"], "holdout": mine["holdout"]},
        "active_metrics": {"fixed": theirs["fixed"], "holdout": theirs["holdout"]},
        "gates": verdict.as_dict(), "promoted": promoted, "forced": bool(force and not verdict.passed),
    }


def _summary(measured: dict[str, Any], version: str) -> dict[str, Any]:
    return {"version": version, "n": measured.get("n", 0), "macro_f1": measured.get("macro_f1", 0.0),
            "accuracy": measured.get("accuracy", 0.0)}


def _languages_line(skipped: dict[str, Any]) -> str:
    by_language = ", ".join(f"{language}: {count}" for language, count in sorted((skipped.get("by_language") or {})
                                                                                  .items()))
    return (f"skipped {skipped.get('rows', 0)} reviews in languages the model does not read"
            + (f" ({by_language})" if by_language else ""))


def format_report(report: dict[str, Any]) -> str:
    """The report for people: rows, skipped, figures next to the active model's, verdict."""
    lines = [f"candidate {report['version']} (from {report['parent_version']}, {report['strategy']}) "
             f"at {report['path']}",
             f"rows: {report['rows_read']} read from {report['rows_from']}; {report['training_rows']} trained on "
             f"(replay: {report['replay']['rows']}, {report['replay']['note']}); {report['holdout_rows']} held out; "
             f"skipped {report['skipped']['rows']} {report['skipped']['by_reason'] or ''}",
             _languages_line(report.get("skipped_languages") or {}),
             f"took {report['seconds']:.0f} s"]
    for name in ("fixed", "holdout"):
        mine, theirs = report["metrics"][name], report["active_metrics"][name]
        lines.append(f"{name:8s} macro-F1 {mine.get('macro_f1', 0):.4f}  (active {theirs.get('macro_f1', 0):.4f}, "
                     f"n={mine.get('n', 0)})")
    gates = report["gates"]
    lines.append("gates: passed" if gates["passed"] else "gates: REFUSED — " + "; ".join(gates["reasons"]))
    lines.append("promoted" + (" (forced past the gates)" if report["forced"] else "") if report["promoted"]
                 else "not promoted (a candidate): `reviewpulse models promote VERSION` or --force")
    return "\n".join(lines)
