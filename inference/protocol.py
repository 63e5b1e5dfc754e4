"""What the rest of the system needs of a model: the ``Scorer`` protocol.

The worker, hot swap and shadow scoring are typed against this, not against the char-CNN
class (``inference.scorer.Scorer``), so a test can hand in a fake that answers at once.
Light on purpose: importing it loads no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class Verdict(Protocol):
    """One text's verdict; ``probs`` follow the model's classes ([bad, average, good] by default)."""

    @property
    def probs(self) -> list[float]: ...

    @property
    def score(self) -> float: ...

    @property
    def label(self) -> str: ...

    @property
    def suggested_rating(self) -> int: ...


class Scorer(Protocol):
    """A model that scores a batch of texts in one call; ``version`` names it in every scored event."""

    @property
    def version(self) -> str: ...

    @property
    def classes(self) -> Sequence[str]:
        """The class names, in the order of every verdict's ``probs`` (2 or 3 are storable)."""
        ...

    def score(self, texts: Sequence[str], passes: int | None = None) -> Sequence[Verdict]:
        """One verdict per text, in order. Called from worker threads, for reviews and drafts at once: read-only."""
        ...


def ahead_of_others(scorer: Scorer) -> Scorer:
    """``scorer``, its calls run ahead of other calls where it can (a person typing must not wait for an import).

    A scorer in a child process (``inference.process_scorer``) gives a view whose calls
    run at once on a thread of their own there; one in this process is returned as it is
    (its callers give drafts a thread of their own: ``stream.worker.batches``).
    """
    ahead = getattr(scorer, "urgent", None)
    return ahead() if callable(ahead) else scorer
