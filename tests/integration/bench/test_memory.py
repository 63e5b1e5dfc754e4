"""``bench memory``'s /proc reading: a process tree and its memory, children included (a real child process)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from reviewpulse.bench.memory import process_tree, tree_memory_mib


def test_the_tree_holds_the_children_and_their_memory_counts() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import sys; print('ready', flush=True); sys.stdin.read()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        assert child.pid in process_tree(os.getpid())
        alone = tree_memory_mib(child.pid)
        whole = tree_memory_mib(os.getpid())
        assert alone["rss_mib"] > 0 and alone["pss_mib"] > 0
        assert whole["rss_mib"] >= alone["rss_mib"] + 1
        assert abs(sum(whole["pss_by_process_mib"].values()) - whole["pss_mib"]) <= 1
        roles = set(whole["pss_by_process_mib"])  # the session's broker may be in the tree too
        assert {"run", Path(f"/proc/{child.pid}/comm").read_text().strip()} <= roles
    finally:
        child.communicate(b"")
