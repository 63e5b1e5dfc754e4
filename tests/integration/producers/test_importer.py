"""``reviewpulse import`` as a child process: without a broker it explains; migrate is idempotent."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from stream.migrations import MIGRATIONS
from tests.conftest import REPO, REVIEWPULSE, system_env


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.slow
def test_cli_without_broker_explains_and_migrate_is_idempotent(tmp_path: Path, tiny_model_dir: Path) -> None:
    env = system_env(tmp_path / "var", tiny_model_dir)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*REVIEWPULSE, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)

    result = cli("import", str(write(tmp_path / "r.csv", "text\nhello\n")))
    assert result.returncode == 2 and "no Kafka broker" in result.stderr
    assert cli("migrate").stdout.strip() == f"applied migrations {[version for version, _, _ in MIGRATIONS]}"
    assert cli("migrate").stdout.strip() == "schema is up to date"
    stats = json.loads(cli("stats", "--json").stdout)
    assert stats["reviews"] == 0 and stats["dead_letters"] == 0


