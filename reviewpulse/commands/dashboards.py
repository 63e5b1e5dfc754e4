"""``reviewpulse dashboards render`` and ``reviewpulse dashboards push``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kernel.settings import get_settings
from reviewpulse.commands.common import Opt, fail

dashboards_app = typer.Typer(help="Grafana dashboards and alert rules as code: render the files, push to a Grafana.",
                             no_args_is_help=True)


@dashboards_app.command("render")
def render(
    out_dir: Annotated[Path | None, Opt("--out", help="folder for the JSON files and the alert rules [default: dashboards/json, dashboards/provisioning/alerting]")] = None,
) -> None:
    """Regenerate the dashboards' JSON and the alert rules' provisioning file (commit the result).

    The rules carry the ALERT_* thresholds of the environment (the committed file: the defaults).
    """
    from dashboards.alerts import ALERTING_FILE
    from dashboards.alerts import render as render_alerts
    from dashboards.build import JSON_DIR, build_all
    from dashboards.build import render as render_json

    target = out_dir or JSON_DIR
    changed = render_json(target)
    for name in build_all():
        path = target / f"{name}.json"
        typer.echo(f"{path}  {'written' if path in changed else 'unchanged'}")
    alerting = out_dir / ALERTING_FILE.name if out_dir else ALERTING_FILE
    typer.echo(f"{alerting}  {'written' if render_alerts(get_settings(), alerting) else 'unchanged'}")


@dashboards_app.command("push")
def push(
    url: Annotated[str, Opt(help="Grafana base URL [default: GRAFANA_URL]")] = "",
    token: Annotated[str, Opt(help="service account token with the Admin role [default: GRAFANA_TOKEN]")] = "",
    clickhouse_url: Annotated[str, Opt(help="ClickHouse as Grafana reaches it, read-only user "
                                       "[default: GRAFANA_CLICKHOUSE_URL]")] = "",
    rotate_password: Annotated[bool, Opt(help="re-send the data source password even if unchanged")] = False,
) -> None:
    """Create or update the ReviewPulse folders, ClickHouse data source, dashboards and alert rules (idempotent)."""
    from grafana_client.client import GrafanaException

    from dashboards.publish import push as push_all

    settings = get_settings()
    url = url or settings.grafana_url
    token = token or settings.grafana_token.get_secret_value()
    if not url or not token:
        raise typer.BadParameter("give --url and --token (or set GRAFANA_URL and GRAFANA_TOKEN)")
    clickhouse_url = clickhouse_url or settings.grafana_clickhouse_url.get_secret_value()
    try:
        changes = push_all(url, token, clickhouse_url, rotate_password, settings)
    except (GrafanaException, ValueError, OSError) as error:  # OSError: connection refused, DNS, TLS
        fail(f"push to {url} failed: {error}", 1)
    for change in changes:
        typer.echo(str(change))
    changed = sum(change.action in ("created", "updated") for change in changes)
    typer.echo(f"{changed} changed, {len(changes) - changed} unchanged or skipped")


def register(app: typer.Typer) -> None:
    app.add_typer(dashboards_app, name="dashboards")
