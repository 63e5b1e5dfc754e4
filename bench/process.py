"""How a benchmark starts ``reviewpulse`` in a child process: with this interpreter, this checkout first.

A child is needed where a library allows one instance per process (Twisted's reactor,
chDB's data directory) or where the benchmark measures a separate worker.
"""

from __future__ import annotations

import sys

#: argv prefix running the ``reviewpulse`` command with this interpreter (the same imports as this process).
REVIEWPULSE = [sys.executable, "-c", "from reviewpulse.cli import main; main()"]
