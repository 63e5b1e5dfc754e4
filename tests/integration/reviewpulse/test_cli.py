"""A command run as a child process (``python -m reviewpulse``, as ``run`` starts its helpers) says ``reviewpulse``."""

from __future__ import annotations

import subprocess

from reviewpulse.commands.common import REVIEWPULSE
from tests.conftest import REPO


def test_a_child_process_usage_line_says_reviewpulse() -> None:
    result = subprocess.run([*REVIEWPULSE, "models", "--no-such-option"], cwd=REPO, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert "Usage: reviewpulse models" in result.stderr and "-c" not in result.stderr.split("Usage:")[1].split()[0]
