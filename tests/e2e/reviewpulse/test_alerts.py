"""``reviewpulse alerts`` and the ``/live`` banner against a running ``reviewpulse run``.

A brand's good reviews are imported dated three days ago (``--date-column``): nothing fires.
Then a burst of bad ones dated now: ``reviewpulse alerts`` (which must ask the running web
server, as ``run`` holds the embedded ClickHouse) names the brand and exits 1, and the live
page shows it in its banner. The model is the trained one in ``models/charcnn``: the burst
must really be scored ``bad``.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from kernel.settings import DEFAULT_MODEL_DIR
from tests.conftest import REPO, REVIEWPULSE, RunningSystem, start_system

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

GOOD = ["Excellent quality, arrived early and works perfectly. Love it!", "Great service, friendly staff, "
        "would happily buy again.", "Fantastic value, the best purchase I made this year."]
BAD = ["Terrible. It broke after one day and support never answered. Avoid.", "Awful quality, refund refused, "
       "a complete waste of money.", "Worst purchase ever: rude staff, late delivery, broken on arrival."]


@pytest.fixture
def system(tmp_path: Path) -> Any:
    if not (DEFAULT_MODEL_DIR / "model.json").exists():
        pytest.skip("needs the trained model in models/charcnn (an untrained one labels at random)")
    running = start_system(tmp_path / "var", DEFAULT_MODEL_DIR, ALERT_CHECK_S="1")
    yield running
    running.stop()


def write_csv(path: Path, brand: str, texts: list[str], count: int, when: datetime) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["text", "brand", "date"])
        for n in range(count):
            writer.writerow([f"{texts[n % len(texts)]} (#{n})", brand, (when - timedelta(seconds=n)).isoformat()])
    return path


def reviewpulse(system: RunningSystem, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*REVIEWPULSE, *args, "--data-dir", str(system.data_dir)], env=system.env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def imported(system: RunningSystem, csv_path: Path) -> None:
    result = reviewpulse(system, "import", str(csv_path), "--date-column", "date", "--wait", "--wait-timeout", "240",
                         "--no-progress")
    assert result.returncode == 0, result.stdout + result.stderr


def banner(system: RunningSystem) -> list[dict[str, Any]]:
    page = httpx.get(f"{system.web_url}/live", timeout=30).text
    payload = re.search(r'<script type="application/json" id="initial-data">(.*?)</script>', page, re.S)
    assert payload, "the live page lost its initial data"
    return list(json.loads(payload.group(1))["alerts"])


def test_alerts_name_a_brand_once_its_recent_reviews_turn_bad(system: RunningSystem, tmp_path: Path) -> None:
    brand = f"Turning Brand {uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    imported(system, write_csv(tmp_path / "old.csv", brand, GOOD, 12, now - timedelta(days=3)))

    quiet = reviewpulse(system, "alerts")
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "no alert fires" in quiet.stdout and brand not in quiet.stdout
    assert all(alert["subject"] != brand for alert in banner(system))

    imported(system, write_csv(tmp_path / "burst.csv", brand, BAD, 25, datetime.now(UTC)))
    loud = reviewpulse(system, "alerts")
    assert loud.returncode == 1, loud.stdout + loud.stderr
    assert any(brand in line and "Brand turns bad" in line for line in loud.stdout.splitlines()), loud.stdout
    as_json = json.loads(reviewpulse(system, "alerts", "--json").stdout)
    assert as_json["source"].startswith("the running system"), "with `run` up, the web server must evaluate"
    assert [f["rule"] for f in as_json["firing"] if f["subject"] == brand] == ["brand_turns_bad"]

    deadline = time.monotonic() + 30  # the web checks the rule every ALERT_CHECK_S (1 s here)
    while time.monotonic() < deadline and not any(alert["subject"] == brand for alert in banner(system)):
        time.sleep(0.5)
    assert [alert["rule"] for alert in banner(system) if alert["subject"] == brand] == ["brand_turns_bad"]
