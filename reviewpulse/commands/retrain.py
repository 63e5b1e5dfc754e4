"""``reviewpulse retrain``: a candidate from stored labelled reviews, judged by the gates."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from reviewpulse.commands.common import DataDir, JsonFlag, Opt, command_settings, fail

log = logging.getLogger(__name__)


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD) or ISO datetime") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def retrain_command(
    source: Annotated[list[str] | None, Opt(help="only reviews of this source (repeatable)")] = None,
    since: Annotated[str | None, Opt(help="only reviews stored since this date (YYYY-MM-DD, UTC)")] = None,
    min_rows: Annotated[int | None, Opt(min=1, help="refuse below this many usable rows (default RETRAIN_MIN_ROWS)")] = None,
    epochs: Annotated[int, Opt(min=0, help="training epochs of head/finetune (0 = default: head 10, finetune 3)")] = 0,
    strategy: Annotated[str, Opt(help="stack (network kept, a site-adapted TF-IDF head stacked on it), head (CNN "
                                      "frozen, new word branch + output layer) or finetune (whole network)")] = "stack",
    holdout: Annotated[float, Opt(min=0.05, max=0.5, help="share of in-domain rows held out for the gates")] = 0.2,
    replay_rows: Annotated[int, Opt(min=0, help="corpus rows replayed (0 = stack: 5,000; head/finetune: as many as in-domain rows)")] = 0,
    corpus: Annotated[Path | None, Opt(help="base corpus CSV (default RETRAIN_CORPUS, else the model's training.data)")] = None,
    promote: Annotated[bool, Opt(help="promote the candidate when it passes the gates")] = True,
    force: Annotated[bool, Opt(help="promote even when the gates refuse (logged)")] = False,
    data_dir: DataDir = None,
    as_json: JsonFlag = False,
) -> None:
    """Build a candidate from stored reviews with stars (and admin labels), starting from the active model."""
    from inference.training.candidates import STRATEGIES, RetrainError, RetrainOptions
    from inference.training.data import DataError
    from reviewpulse.system_client import RegistryUnavailable, read_labelled_rows, registry_client
    from stream.learning.retraining import format_report, retrain

    settings = command_settings(data_dir)
    if strategy not in STRATEGIES:
        raise typer.BadParameter(f"--strategy must be one of {', '.join(STRATEGIES)}")
    options = RetrainOptions(strategy=strategy, epochs=epochs, min_rows=min_rows or settings.retrain_min_rows,
                             holdout_fraction=holdout, replay_rows=replay_rows, corpus=str(corpus or ""),
                             progress=not as_json)
    if force:
        log.warning("reviewpulse retrain --force: the candidate will be promoted even if the gates refuse it")
    try:
        rows = read_labelled_rows(settings, list(source or []) or None, _since(since), settings.retrain_max_rows)
        with registry_client(settings) as registry:
            report = retrain(settings, rows, registry, options, promote=promote, force=force,
                             by="reviewpulse retrain --force" if force else "reviewpulse retrain")
    except (RetrainError, DataError, RegistryUnavailable) as error:
        if as_json:
            typer.echo(json.dumps({"error": str(error)}))
        fail(str(error))
    typer.echo(json.dumps(report) if as_json else format_report(report))


def register(app: typer.Typer) -> None:
    app.command("retrain")(retrain_command)
