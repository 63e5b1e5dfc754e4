"""``reviewpulse retrain`` against a running ``reviewpulse run`` (real broker, chDB, small char-CNN).

Labelled reviews are imported with ``reviewpulse import --wait``; ``retrain`` (another
process) fetches them from the running server, builds a candidate from the active model,
judges it and promotes it through the registry endpoints.
"""

from __future__ import annotations

import csv
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from inference.scorer import Scorer
from inference.training.data import star_to_class
from tests.conftest import REPO, REVIEWPULSE, RunningSystem, start_system
from tests.retrain_data import labelled, small_model, write_corpus

pytestmark = pytest.mark.slow


def write_import(path: Path, rows: list, rating: bool = True) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "rating"])
        writer.writerows([row.text, row.rating] for row in rows)
    return path


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningSystem, Path, Path]]:
    root = tmp_path_factory.mktemp("retrain")
    corpus = write_corpus(root / "corpus.csv", 400, seed=3)
    base = small_model(root / "base", corpus, rows=400)
    running = start_system(root / "var", base)
    yield running, base, corpus
    running.stop()


def reviewpulse(running: RunningSystem, *args: str, timeout_s: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*REVIEWPULSE, *args, "--data-dir", str(running.data_dir)], env=running.env, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout_s)


def test_retrain_from_the_running_system_moves_predictions_toward_the_stars(
        system: tuple[RunningSystem, Path, Path], tmp_path: Path) -> None:
    running, base, corpus = system
    rows = labelled(300, seed=31)
    one_class = [row for row in labelled(80, seed=32, source="x") if row.rating == 5][:20]
    for name, part, source in (("airline", rows, "airline_site"), ("fans", one_class, "fan_site")):
        done = reviewpulse(running, "import", str(write_import(tmp_path / f"{name}.csv", part)), "--source", source,
                           "--wait", "--no-progress", "--json")
        assert done.returncode == 0, done.stderr[-2000:]

    refused = reviewpulse(running, "retrain", "--min-rows", "100000", "--json")
    assert refused.returncode == 2
    assert "below --min-rows 100000" in refused.stderr

    result = reviewpulse(running, "retrain", "--json", "--min-rows", "100", "--epochs", "8",
                         "--corpus", str(corpus))
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["rows_from"].startswith("the running system")
    assert report["rows_read"] == 320
    assert report["skipped"]["by_reason"] == {"source with only one class": 20}
    assert report["sources"] == {"airline_site": 300 - report["holdout_rows"]}
    assert report["replay"]["rows"] > 0 and report["metrics"]["holdout"]["n"] == report["holdout_rows"]
    assert report["gates"]["passed"], report["gates"]
    assert report["promoted"]

    candidate = Scorer.load(report["path"], device="cpu")
    assert candidate.version == report["version"]
    texts = [row.text for row in rows]
    truth = [star_to_class(row.rating) for row in rows]
    parent_probs, candidate_probs = Scorer.load(base, device="cpu").probabilities(texts), candidate.probabilities(texts)
    before = parent_probs[np.arange(len(texts)), truth].mean()
    after = candidate_probs[np.arange(len(texts)), truth].mean()
    assert after > before + 0.1, (before, after)  # the stars' class became likelier
    assert (candidate_probs.argmax(1) == truth).mean() > max((parent_probs.argmax(1) == truth).mean(), 0.9)

    info = json.loads((running.data_dir / "run.json").read_text())
    models = httpx.get(f"{running.web_url}/api/models", headers={"Authorization": f"Bearer {info['registry_token']}"},
                       timeout=30).json()
    assert models["active"]["version"] == report["version"]
    record = next(m for m in models["models"] if m["version"] == report["version"])
    assert record["parent_version"] == "small-v0"
    assert record["holdout_metrics"]["macro_f1"] == report["metrics"]["holdout"]["macro_f1"]
    assert record["metrics"]["gates"]["passed"] and "passed the gates" in models["history"][0]["note"]
