"""``kill -9`` of ``reviewpulse run``'s process group leaves no process behind, and nothing points at it.

The broker, the drafts process and the scoring process live in sessions of their own (a
Ctrl-C is ``run``'s to handle), so a signal to ``run``'s group does not reach them: they
must end because their parent did. Then run.json names a dead system: commands say so at
once, and the next ``run`` starts cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reviewpulse.bench.memory import process_tree
from tests.conftest import REPO, REVIEWPULSE, system_env

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def start_run(data_dir: Path, model_dir: Path, log: Path, preexec_fn: Callable[[], None] | None = None,
              **env: str) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        process = subprocess.Popen([*REVIEWPULSE, "run", "--port", "0", "--data-dir", str(data_dir)],
                                   env=system_env(data_dir, model_dir, **env), cwd=REPO, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=preexec_fn)
    for _ in range(900):
        if ours(data_dir, process.pid) or process.poll() is not None:
            break
        time.sleep(0.2)
    assert ours(data_dir, process.pid), log.read_text()[-3000:]
    return process


def ours(data_dir: Path, pid: int) -> bool:
    """run.json is this run's (a killed run's file names another pid)."""
    try:
        return json.loads((data_dir / "run.json").read_text()).get("pid") == pid
    except (OSError, ValueError):
        return False


def import_reviews(data_dir: Path, model_dir: Path, csv: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*REVIEWPULSE, "import", str(csv), "--wait", "--wait-timeout", "120", "--no-progress",
                           "--data-dir", str(data_dir)], env=system_env(data_dir, model_dir), cwd=REPO,
                          capture_output=True, text=True, timeout=200)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for every purpose but its exit status
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_kill_9_of_run_leaves_no_survivor_and_the_next_run_works(tmp_path: Path, tiny_model_dir: Path) -> None:
    data_dir, log = tmp_path / "var", tmp_path / "run.log"
    csv = tmp_path / "reviews.csv"
    csv.write_text("text,rating\n" + "".join(f"review number {n} was fine,4\n" for n in range(30)))
    run = start_run(data_dir, tiny_model_dir, log)
    try:
        first = import_reviews(data_dir, tiny_model_dir, csv)  # the scoring process exists once reviews are scored
        assert first.returncode == 0, first.stderr
        tree = process_tree(run.pid)
        assert len(tree) >= 3, f"expected run, its broker and its helpers: {tree}"
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(alive(pid) for pid in tree):
            time.sleep(0.1)
        assert not [pid for pid in tree if alive(pid)], "processes outlived `reviewpulse run`"

        started = time.monotonic()
        stale = import_reviews(data_dir, tiny_model_dir, csv)
        assert stale.returncode == 2 and "no longer running" in stale.stderr, stale.stderr
        assert "Traceback" not in stale.stderr and time.monotonic() - started < 30

        run = start_run(data_dir, tiny_model_dir, log)
        again = import_reviews(data_dir, tiny_model_dir, csv)
        assert again.returncode == 0, again.stderr
    finally:
        for pid in process_tree(run.pid) if run.poll() is None else []:
            os.kill(pid, signal.SIGKILL)
