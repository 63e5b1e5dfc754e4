"""Helpers for registry and hot-swap tests: copies of the tiny model under other versions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from inference.artefact import CONFIG_FILE, WEIGHTS_FILE


def artefact_copy(source: Path, target: Path, version: str) -> Path:
    """``source``'s artefact at ``target`` with ``version`` in its model card."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / WEIGHTS_FILE, target / WEIGHTS_FILE)
    card = json.loads((source / CONFIG_FILE).read_text(encoding="utf-8"))
    card["version"] = version
    (target / CONFIG_FILE).write_text(json.dumps(card), encoding="utf-8")
    return target


def corrupt_weights(directory: Path) -> Path:
    """Cut the weights file short, as a failed copy would."""
    weights = directory / WEIGHTS_FILE
    weights.write_bytes(weights.read_bytes()[:1000])
    return directory
