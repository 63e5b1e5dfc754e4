"""Library workarounds pinned to the version they were written for: ``require_version``.

A workaround that patches a private method or subclasses a class for its private
hooks breaks silently when the library changes. So each one calls
:func:`require_version` first: on a different major.minor of the library it raises
:class:`CompatError` naming the workaround and what to re-check, instead of running
with behaviour nobody verified. After re-checking, update :data:`WRITTEN_FOR`.

The workarounds themselves live where they are used: the Faust ones in
``stream/worker/faust_patches.py``, uvicorn's in ``reviewpulse/uvicorn_server.py``.
"""

from __future__ import annotations

from importlib import metadata

#: Distribution -> the major.minor every workaround for it was written and tested against.
WRITTEN_FOR = {"faust-streaming": "0.15", "mode-streaming": "0.7", "uvicorn": "0.54"}
#: Where each distribution's workarounds live (named in the error).
PATCHED_IN = {"faust-streaming": "stream/worker/faust_patches.py", "mode-streaming": "stream/worker/faust_patches.py",
              "uvicorn": "reviewpulse/uvicorn_server.py"}


class CompatError(RuntimeError):
    """An installed library is not the version a workaround was written for."""


def major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def require_version(distribution: str, workaround: str) -> None:
    """Raise :class:`CompatError` unless ``distribution``'s installed major.minor is ``WRITTEN_FOR``'s."""
    expected = WRITTEN_FOR[distribution]
    installed = metadata.version(distribution)
    if major_minor(installed) != expected:
        raise CompatError(
            f"{workaround} was written for {distribution} {expected}.x, but {installed} is installed: "
            f"re-check it in {PATCHED_IN[distribution]}, then update WRITTEN_FOR[{distribution!r}] in "
            f"kernel/versions.py (or install {distribution}=={expected}.*)"
        )
