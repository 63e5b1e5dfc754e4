"""``reviewpulse models``: gates at promote, and the registry straight from chDB when nothing runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, REVIEWPULSE, system_env
from tests.model_artefacts import artefact_copy


@pytest.mark.slow
def test_models_commands_without_a_running_system_and_the_registry_survives_restarts(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    data_dir = tmp_path / "var"
    env = system_env(data_dir, tiny_model_dir)

    def models(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*REVIEWPULSE, "models", *args, "--data-dir", str(data_dir)], env=env, cwd=REPO,
                              capture_output=True, text=True, timeout=120)

    listed = json.loads(models("list", "--json").stdout)
    assert [(m["version"], m["status"]) for m in listed] == [("tiny-untrained", "active")]

    path = artefact_copy(tiny_model_dir, data_dir / "models" / "cli-v2", "cli-v2")
    register = ("from kernel.settings import get_settings; from stream.registry.store import ModelRecord; "
                "from reviewpulse.system_client import registry_client\n"
                "with registry_client(get_settings()) as c:\n"
                f"    c.register(ModelRecord(version='cli-v2', path={str(path)!r}, parent_version='tiny-untrained', "
                "metrics={'gates': {'passed': False, 'reasons': ['hold-out: no better']}}))")
    subprocess.run([sys.executable, "-c", register], env=env, cwd=REPO, check=True,
                   timeout=120)

    refused = models("promote", "cli-v2")
    assert refused.returncode == 1 and "hold-out: no better" in refused.stderr and "--force" in refused.stderr
    forced = models("promote", "cli-v2", "--force", "--by", "tester")
    assert forced.returncode == 0 and "active model: cli-v2 (forced past the gates)" in forced.stdout
    assert "workers load the active model when they start" in forced.stderr  # no broker to tell

    shown = json.loads(models("show", "cli-v2").stdout)  # a new process: read back from chDB
    assert shown["status"] == "active" and shown["promoted_by"] == "tester" and shown["parent_version"] == "tiny-untrained"
    assert models("show", "nope").returncode == 2
    assert "active model: tiny-untrained" in models("rollback").stdout
    listed = {m["version"]: m["status"] for m in json.loads(models("list", "--json").stdout)}
    assert listed == {"cli-v2": "retired", "tiny-untrained": "active"}
