"""``reviewpulse models list | show | promote | rollback``: the model registry from the shell.

They work with or without a running system (``reviewpulse.system_client``: over HTTP to
``reviewpulse run`` with the token from run.json, else straight to ClickHouse). promote
and rollback publish to ``models.control``, so every running worker switches between two
micro-batches without a restart.

Gates: ``promote`` refuses a candidate whose record carries a failed gate verdict
(``metrics["gates"]``, an ``inference.training.gates.Verdict.as_dict()`` that ``reviewpulse retrain``
records) or none at all; ``--force`` promotes anyway and the history says so.
"""

from __future__ import annotations

import getpass
import json
import logging
from typing import Annotated, Any

import typer

from kernel.settings import Settings
from reviewpulse.commands.common import DataDir, JsonFlag, Opt, command_settings, fail
from stream.registry.store import ModelRecord

log = logging.getLogger(__name__)
models_app = typer.Typer(help="The model registry: list, show, promote, roll back.", no_args_is_help=True)


def _client(settings: Settings) -> Any:
    from reviewpulse.system_client import registry_client

    try:
        return registry_client(settings)
    except RuntimeError as error:
        fail(str(error))


def _headline(metrics: dict[str, Any]) -> str:
    """Macro-F1 on the fixed validation set / in-domain hold-out, as far as the record has them."""
    if isinstance(metrics.get("macro_f1"), int | float):
        return f"{float(metrics['macro_f1']):.4f}"
    for key in ("fixed", "validation"):
        value = metrics.get(key, {})
        if isinstance(value, dict) and "macro_f1" in value:
            return f"{float(value['macro_f1']):.4f}"
    return "-"


def gate_refusal(record: ModelRecord, active: ModelRecord) -> list[str]:
    """Why the gates refuse ``record`` (empty: it passed, against the model active now)."""
    verdict = record.metrics.get("gates")
    if not isinstance(verdict, dict):
        return [f"no gate verdict recorded for {record.version} (reviewpulse retrain records one)"]
    if not verdict.get("passed"):
        return [str(reason) for reason in verdict.get("reasons", [])] or ["the gates refused it"]
    judged_against = (record.metrics.get("active") or {}).get("version")
    if judged_against and judged_against != active.version:
        return [f"judged against {judged_against}, but {active.version} is active now; retrain to judge again"]
    return []


@models_app.command("list")
def list_command(data_dir: DataDir = None, as_json: JsonFlag = False) -> None:
    """Every registered model, newest first; * marks the active one."""
    with _client(command_settings(data_dir)) as client:
        records = client.list()
    if as_json:
        typer.echo(json.dumps([r.to_dict() for r in records]))
        return
    typer.echo(f"  {'version':<32} {'status':<9} {'created (UTC)':<16} {'rows':>7} {'val F1':>7} "
               f"{'hold F1':>7}  parent")
    for r in records:
        mark = "*" if r.status == "active" else " "
        typer.echo(f"{mark} {r.version:<32} {r.status:<9} {r.created_at:%Y-%m-%d %H:%M} {r.training_rows:>7} "
                   f"{_headline(r.metrics):>7} {_headline({'fixed': r.holdout_metrics}):>7}  {r.parent_version}")


@models_app.command("show")
def show_command(version: str, data_dir: DataDir = None) -> None:
    """Everything the registry knows about VERSION, and its shadow scores beside the active model (JSON)."""
    with _client(command_settings(data_dir)) as client:
        record = client.get(version)
        if record is None:
            known = ", ".join(r.version for r in client.list())
            fail(f"unknown model version {version!r}; known versions: {known}")
        shadow = [row for row in client.shadow() if row["model_version"] == version]
    typer.echo(json.dumps({**record.to_dict(), "shadow": shadow}, indent=2, default=str))


@models_app.command("promote")
def promote_command(
    version: str,
    force: Annotated[bool, Opt("--force", help="promote even if the gates refuse it (logged)")] = False,
    by: Annotated[str, Opt(help="who promotes (history)")] = "",
    data_dir: DataDir = None,
) -> None:
    """Make VERSION the active model; every running worker switches to it between two batches."""
    by = by or f"{getpass.getuser()} (cli)"
    with _client(command_settings(data_dir)) as client:
        record = client.get(version)
        if record is None:
            known = ", ".join(r.version for r in client.list())
            fail(f"unknown model version {version!r}; known versions: {known}")
        refusal = gate_refusal(record, client.active())
        note = ""
        if refusal and not force:
            fail("the gates refuse " + version + ":\n  " + "\n  ".join(refusal) + "\n--force promotes anyway", 1)
        if refusal:
            note = "forced past the gates: " + "; ".join(refusal)
            log.warning("%s promoted with --force by %s: %s", version, by, note)
        try:
            active = client.promote(version, by, note)
        except (ValueError, RuntimeError) as error:  # RuntimeError: ControlNotPublished, RegistryUnavailable
            fail(str(error))
        _told(client)
    typer.echo(f"active model: {active.version}" + (" (forced past the gates)" if note else ""))


@models_app.command("rollback")
def rollback_command(
    by: Annotated[str, Opt(help="who rolls back (history)")] = "", data_dir: DataDir = None,
) -> None:
    """Return to the model that was active before the current one."""
    with _client(command_settings(data_dir)) as client:
        try:
            active = client.rollback(by or f"{getpass.getuser()} (cli)")
        except (ValueError, RuntimeError) as error:
            fail(str(error))
        _told(client)
    typer.echo(f"active model: {active.version}")


def _told(client: Any) -> None:
    if getattr(client, "publishes", True) is False:
        typer.secho("note: no broker (KAFKA_BOOTSTRAP empty, no run.json): the registry changed; "
                    "workers load the active model when they start", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
