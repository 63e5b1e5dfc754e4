"""A quiet ``reviewpulse run``: nothing at start by default, only JSON lines at INFO."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, REVIEWPULSE, system_env


def start_and_capture(tmp_path: Path, model_dir: Path, **env: str) -> tuple[str, list[str]]:
    """Start `reviewpulse run`; once it prints its URL, return stdout and the log lines so far."""
    environment = system_env(tmp_path / "var", model_dir, **env)
    if "LOG_LEVEL" not in env:
        environment.pop("LOG_LEVEL")
    stdout_path, stderr_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        process = subprocess.Popen([*REVIEWPULSE, "run", "--port", "0", "--data-dir", str(tmp_path / "var")],
                                   env=environment, cwd=REPO, stdout=out, stderr=err)
    try:
        for _ in range(600):
            if "ReviewPulse is running" in stdout_path.read_text() or process.poll() is not None:
                break
            time.sleep(0.2)
        stdout, stderr = stdout_path.read_text(), stderr_path.read_text()
        assert "ReviewPulse is running" in stdout, f"run did not start:\n{stdout}\n{stderr[-4000:]}"
        return stdout, [line for line in stderr.splitlines() if line.strip()]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_run_is_quiet_at_start(tmp_path: Path, tiny_model_dir: Path) -> None:
    stdout, log_lines = start_and_capture(tmp_path, tiny_model_dir)
    assert re.fullmatch(r"ReviewPulse is running: open http://127\.0\.0\.1:\d+ .*\n"
                        r"Automatic retraining is off \(RETRAIN_EVERY_ROWS=0\); .*\n", stdout)  # conftest turns it off
    assert len(log_lines) <= 4, "\n".join(log_lines)
    assert all(json.loads(line)["level"] in ("WARNING", "ERROR") for line in log_lines)


@pytest.mark.slow
def test_run_at_info_logs_only_json_lines(tmp_path: Path, tiny_model_dir: Path) -> None:
    _, log_lines = start_and_capture(tmp_path, tiny_model_dir, LOG_LEVEL="INFO")
    entries = [json.loads(line) for line in log_lines]  # mode/Faust, uvicorn, ours: one format
    assert {"stream.storage.migrations", "reviewpulse.broker"} <= {entry["logger"] for entry in entries}
    assert not any(entry["logger"].split(".")[0] in ("faust", "mode", "aiokafka") for entry in entries)
