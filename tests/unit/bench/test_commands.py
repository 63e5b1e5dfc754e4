"""``reviewpulse bench …`` from the CLI, in-process: the subcommands are there and say what is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from reviewpulse.cli import app
from tests.conftest import invoke_cli


def test_bench_typing_without_a_running_system(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke_cli(monkeypatch, ["bench", "typing", "--json"], DATA_DIR=str(tmp_path))
    assert result.exit_code == 2
    assert "start `reviewpulse run` first" in result.output


def test_every_benchmark_is_a_bench_subcommand() -> None:
    result = CliRunner().invoke(app, ["bench", "--help"])
    assert result.exit_code == 0, result.output
    for name in ("scorer", "pipeline", "memory", "crawl", "dashboards", "typing"):
        assert name in result.output
