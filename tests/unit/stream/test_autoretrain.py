"""Automatic retraining: the child's argv promotes automatically only through the gates."""

from __future__ import annotations

from pathlib import Path

from kernel.settings import Settings
from stream.learning.automatic import retrain_argv


def test_auto_promote_only_through_the_gates(tmp_path: Path) -> None:
    off = retrain_argv(Settings(data_dir=tmp_path, auto_promote=False), ["reviewpulse"])
    assert off[-1] == "--no-promote" and "retrain" in off and "--force" not in off
    on = retrain_argv(Settings(data_dir=tmp_path), ["reviewpulse"])  # the default: promoted through the gates
    assert "--no-promote" not in on and "--force" not in on
