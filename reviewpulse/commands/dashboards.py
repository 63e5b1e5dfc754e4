"""``reviewpulse dashboards render`` and ``reviewpulse dashboards push``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kernel.settings import get_settings
from reviewpulse.commands.common import Opt, fail

dashboards_app = typer.Typer(help="Grafana dashboards as code: render the JSON, push to a Grafana.",
                             no_args_is_help=True)


@dashboards_app.command("render")
def render(
    out_dir: Annotated[Path | None, Opt("--out", help="folder for the JSON files [default: dashboards/json]")] = None,
) -> None:
    """Regenerate the dashboards' JSON from dashboards/build.py (commit the result)."""
    from dashboards.build import JSON_DIR, build_all
    from dashboards.build import render as render_json

    target = out_dir or JSON_DIR
    changed = render_json(target)
    for name in build_all():
        path = target / f"{name}.json"
        typer.echo(f"{path}  {'written' if path in changed else 'unchanged'}")


@dashboards_app.command("push")
def push(
    url: Annotated[str, Opt(help="Grafana base URL [default: GRAFANA_URL]")] = "",
    token: Annotated[str, Opt(help="service account token with the Admin role [default: GRAFANA_TOKEN]")] = "",
    clickhouse_url: Annotated[str, Opt(help="ClickHouse as Grafana reaches it, read-only user "
                                       "[default: GRAFANA_CLICKHOUSE_URL]")] = "",
    rotate_password: Annotated[bool, Opt(help="re-send the data source password even if unchanged")] = False,
) -> None:
    """Create or update the ReviewPulse folder, ClickHouse data source and dashboards (idempotent)."""
    from grafana_client.client import GrafanaException

    from dashboards.publish import push as push_all

    settings = get_settings()
    url = url or settings.grafana_url
    token = token or settings.grafana_token.get_secret_value()
    if not url or not token:
        raise typer.BadParameter("give --url and --token (or set GRAFANA_URL and GRAFANA_TOKEN)")
    clickhouse_url = clickhouse_url or settings.grafana_clickhouse_url.get_secret_value()
    try:
        changes = push_all(url, token, clickhouse_url, rotate_password)
    except (GrafanaException, ValueError, OSError) as error:  # OSError: connection refused, DNS, TLS
        fail(f"push to {url} failed: {error}", 1)
    for change in changes:
        typer.echo(str(change))
    changed = sum(change.action in ("created", "updated") for change in changes)
    typer.echo(f"{changed} changed, {len(changes) - changed} unchanged or skipped")


def register(app: typer.Typer) -> None:
    app.add_typer(dashboards_app, name="dashboards")
