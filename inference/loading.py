"""How a model is loaded to score on the CPU: in this process, or in a child process of its own."""

from __future__ import annotations

from pathlib import Path

from inference.protocol import Scorer
from kernel.settings import Settings


def load_cpu_scorer(path: str | Path, settings: Settings) -> Scorer:
    """The model at ``path`` on the CPU, on SCORER_THREADS; in a child process when SCORER_PROCESS is on.

    In a child (``inference.process_scorer``) the model's Python runs under its own
    interpreter lock, so the worker's event loop and the scorer's lanes never wait for each other.
    """
    if settings.scorer_process:
        from inference.process_scorer import ProcessScorer

        return ProcessScorer(path, settings.scorer_threads, lean_memory=settings.scorer_memory == "lean")
    from inference.scorer import Scorer as CharCNNScorer

    return CharCNNScorer.load(path, device="cpu", threads=settings.scorer_threads)
