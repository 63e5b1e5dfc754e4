"""``reviewpulse hash-password`` and ``reviewpulse web`` error paths (the CLI, in-process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from reviewpulse.cli import app
from tests.conftest import invoke_cli
from web.passwords import verify_password


def test_hash_password_from_stdin() -> None:
    result = CliRunner().invoke(app, ["hash-password"], input="hunter2\n")
    assert result.exit_code == 0, result.output
    assert verify_password("hunter2", result.stdout.strip())


def test_web_without_a_broker_says_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke_cli(monkeypatch, ["web", "--port", "0"], DATA_DIR=str(tmp_path), KAFKA_BOOTSTRAP="")
    assert result.exit_code == 2
    assert "set KAFKA_BOOTSTRAP" in result.output


def test_web_off_loopback_needs_the_ip_hash_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke_cli(monkeypatch, ["web", "--host", "0.0.0.0", "--port", "0"], DATA_DIR=str(tmp_path),
                        IP_HASH_SALT="")
    assert result.exit_code == 2
    assert "set IP_HASH_SALT" in result.output


