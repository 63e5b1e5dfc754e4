"""Training checkpoints: everything a run needs to continue exactly where it stopped.

A checkpoint is one ``checkpoint.pt`` file in the run's checkpoint directory:
the options, model, optimizer and scheduler states, the epoch and the batch
within it, the sampler's random state at the start of that epoch (the epoch's
batches are rebuilt from it and the done ones skipped), torch's random state
(dropout, input dropout), the metric history and the best epoch so far.

Writes are atomic: the file is written beside the old one, flushed to disk and
renamed over it, so a run killed while writing leaves the previous checkpoint
usable. The file holds only tensors and plain Python values and is loaded with
``weights_only=True``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

CHECKPOINT_FILE = "checkpoint.pt"


class CheckpointError(RuntimeError):
    """No usable checkpoint where one was expected; the message says where and why."""


def save_checkpoint(directory: str | Path, state: dict[str, Any]) -> Path:
    """Atomically replace ``directory/checkpoint.pt`` with ``state``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CHECKPOINT_FILE
    partial = directory / (CHECKPOINT_FILE + ".partial")
    with partial.open("wb") as handle:
        torch.save(state, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    return path


def load_checkpoint(directory: str | Path) -> dict[str, Any]:
    """The last complete checkpoint in ``directory``."""
    path = Path(directory) / CHECKPOINT_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint here (is {directory} the run's --checkpoint-dir?)")
    try:
        return torch.load(path, weights_only=True)
    except Exception as error:  # torch raises several unrelated types for a damaged file
        raise CheckpointError(f"{path}: cannot be read ({error})") from None
