"""The ``reviewpulse`` command: every command module registered, the version, the name in usage lines."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from reviewpulse import __version__
from reviewpulse.cli import PROG_NAME, app


def test_version_prints_the_package_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"reviewpulse {__version__}"


def test_every_command_module_adds_its_commands() -> None:
    names = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    assert {"run", "worker", "web", "train", "lodo", "migrate", "stats", "retrain", "hash-password", "import",
            "crawl", "discover", "demo-site", "models", "dashboards", "bench", "config"} <= names


def test_usage_lines_name_the_command_not_the_interpreter() -> None:
    result = CliRunner().invoke(app, ["stats", "--no-such-option"], prog_name=PROG_NAME)
    assert result.exit_code == 2 and "Usage: reviewpulse stats" in result.output
