"""``reviewpulse import FILE``: bulk reviews from a CSV/JSONL file to ``reviews.raw`` (``producers.importer``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from reviewpulse.commands.common import DataDir, JsonFlag, Opt, command_settings, fail, require_live_broker


def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="a .csv or .jsonl file")],
    text_column: Annotated[str, Opt(help="column (key) holding the review text")] = "text",
    rating_column: Annotated[str, Opt(help="column with 1-5 stars; ignored when absent")] = "rating",
    brand_column: Annotated[str, Opt(help="column with the brand; ignored when absent")] = "brand",
    date_column: Annotated[str | None, Opt(help="column with each review's own date (ISO 8601 date or datetime; "
                                                "UTC unless it names an offset); default: the import's time")] = None,
    source: Annotated[str, Opt(help="source name stored with each review (part of its id)")] = "import",
    wait: Annotated[bool, Opt(help="block until every review is scored and stored")] = False,
    wait_timeout: Annotated[float, Opt(help="seconds --wait gives up after")] = 600.0,
    as_json: JsonFlag = False,
    progress: Annotated[bool, Opt(help="show progress bars on stderr")] = True,
    data_dir: DataDir = None,
) -> None:
    """Publish reviews from a CSV/JSONL file to reviews.raw (stable ids: re-importing never duplicates)."""
    from producers.importer import (
        ImportFileError,
        ImportOptions,
        PublishError,
        import_file,
        scored_end_offsets,
        wait_for_scored,
    )

    settings = command_settings(data_dir)
    bootstrap = require_live_broker(settings)
    options = ImportOptions(text_column, rating_column, brand_column, source, date_column)
    start = scored_end_offsets(bootstrap, settings) if wait else {}
    try:
        summary = import_file(file, bootstrap, settings, options, progress=progress)
    except (ImportFileError, PublishError) as error:
        fail(str(error))
    result: dict[str, Any] = summary.as_dict()
    if wait:
        result["stored"] = wait_for_scored(bootstrap, settings, summary.ids, start, wait_timeout, progress)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        reasons = "".join(f"\n  {n} x {reason}" for reason, n in summary.rejected.most_common())
        reasons += "".join(f"\n  line {line}: {reason}" for line, reason in summary.rejected_lines[:10])
        typer.echo(f"sent {result['sent']} rows, rejected {result['rejected']}{reasons}\n"
                   f"{result['rows_per_s']} rows/s over {result['seconds']} s")
        if wait:
            typer.echo(f"scored and stored: {result['stored']} of {len(summary.ids)}")
    if summary.failed or (wait and result["stored"] < len(summary.ids)):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
