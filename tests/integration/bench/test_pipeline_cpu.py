"""``bench pipeline``'s CPU accounting: seconds per process read from /proc."""

from __future__ import annotations

import subprocess
import sys
import time

from reviewpulse.bench.pipeline import CpuShares, cpu_seconds

BUSY = "import time\nend = time.process_time() + 0.5\nwhile time.process_time() < end: pass\ntime.sleep(30)"


def test_a_busy_process_has_used_cpu_and_a_gone_one_counts_nothing() -> None:
    child = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        deadline = time.monotonic() + 20
        while cpu_seconds(child.pid) < 0.4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert cpu_seconds(child.pid) >= 0.4
    finally:
        child.kill()
        child.wait()
    assert cpu_seconds(child.pid) == 0.0


def test_shares_count_only_what_each_part_used_since_they_started() -> None:
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    busy = subprocess.Popen([sys.executable, "-c", BUSY])
    try:
        time.sleep(0.2)  # both started; their start-up is before the shares start
        shares = CpuShares(worker=busy.pid, broker=idle.pid)
        end = time.process_time() + 0.2
        while time.process_time() < end:
            pass
        time.sleep(0.6)
        used = shares.since_start()
    finally:
        for process in (idle, busy):
            process.kill()
            process.wait()
    assert used["worker"] > 0.2
    assert used["broker"] < 0.1
    assert used["worker_children"] == 0.0
    assert used["importer_and_reader"] >= 0.2
