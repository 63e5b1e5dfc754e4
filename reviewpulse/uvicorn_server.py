"""uvicorn embedded in ``reviewpulse run``'s event loop, leaving the signals to the Faust worker."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import uvicorn

from kernel.versions import require_version


class ServerWithoutSignals(uvicorn.Server):
    """A ``uvicorn.Server`` that leaves SIGINT/SIGTERM alone (the Faust worker owns them in ``run``).

    uvicorn installs its own handlers in ``Server.capture_signals`` and offers no option
    to skip it when embedded in another program's event loop; a no-op context manager does.
    """

    def __init__(self, config: uvicorn.Config) -> None:
        require_version("uvicorn", "the uvicorn signal-capture override (Server.capture_signals)")
        super().__init__(config)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
