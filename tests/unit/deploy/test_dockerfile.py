"""deploy/Dockerfile and the files the compose services mount, checked as text (no Docker here)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

from dashboards.panels import CLICKHOUSE_UID

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = (REPO / "deploy" / "Dockerfile").read_text()


def _stages() -> dict[str, str]:
    """Stage name -> its instructions."""
    parts = re.split(r"^FROM ", DOCKERFILE, flags=re.MULTILINE)[1:]
    return {part.split("\n", 1)[0].split(" AS ")[-1].strip(): part for part in parts}


def test_dockerfile_is_multi_stage_with_the_targets_compose_builds() -> None:
    stages = _stages()
    assert {"build", "runtime", "crawler"} <= set(stages)
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    targets = {service["build"]["target"] for service in compose["services"].values() if "build" in service}
    assert targets <= set(stages)


def test_runtime_runs_as_a_non_root_user() -> None:
    for name in ("runtime", "crawler"):
        users = re.findall(r"^USER (\S+)", _stages()[name], flags=re.MULTILINE)
        assert users and users[-1] not in ("root", "0"), f"stage {name} ends as root"


def test_torch_is_the_pinned_cpu_build() -> None:
    pinned = re.search(r'"torch==([\d.]+)"', (REPO / "pyproject.toml").read_text())
    assert pinned, "pyproject.toml pins torch"
    assert f"pip install -c constraints.txt torch=={pinned.group(1)} --index-url" in DOCKERFILE
    assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in DOCKERFILE


def test_base_image_is_pinned_and_dependencies_use_the_constraints() -> None:
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)", DOCKERFILE, flags=re.MULTILINE)
    assert base and re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base.group(1))
    assert "-c constraints.txt" in DOCKERFILE


def test_image_model_dir_is_where_compose_mounts_the_models() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    worker = compose["services"]["worker"]
    assert "MODEL_DIR=/app/models/charcnn" in DOCKERFILE
    assert worker["environment"]["MODEL_DIR"] == "/app/models/charcnn"
    assert "./models:/app/models:ro" in worker["volumes"]


def test_clickhouse_grafana_user_is_read_only_with_password_from_the_environment() -> None:
    root = ET.parse(REPO / "deploy" / "clickhouse" / "users.d" / "grafana.xml").getroot()
    user = root.find("users/grafana")
    assert user is not None
    profile = root.find(f"profiles/{user.findtext('profile')}")
    assert profile is not None and profile.findtext("readonly") == "1"
    assert profile.find("constraints/max_execution_time/changeable_in_readonly") is not None
    grants = [query.text for query in user.findall("grants/query")]
    assert grants == ["GRANT SELECT ON reviewpulse.*"]
    env_name = user.find("password").get("from_env")  # type: ignore[union-attr]
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert env_name in compose["services"]["clickhouse"]["environment"]


def test_grafana_provisioning_matches_the_dashboards_and_compose() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    grafana = compose["services"]["grafana"]
    provisioning = REPO / "dashboards" / "provisioning"
    source = yaml.safe_load((provisioning / "datasources" / "clickhouse.yaml").read_text())["datasources"][0]
    assert source["uid"] == CLICKHOUSE_UID
    assert source["type"] == "grafana-clickhouse-datasource"
    assert source["jsonData"]["username"] == "grafana"
    assert source["jsonData"]["host"] in compose["services"]
    password_env = source["secureJsonData"]["password"].lstrip("$").strip("{}")
    assert password_env in grafana["environment"]
    assert "grafana-clickhouse-datasource@" in grafana["environment"]["GF_PLUGINS_PREINSTALL_SYNC"]
    provider = yaml.safe_load((provisioning / "dashboards" / "reviewpulse.yaml").read_text())["providers"][0]
    mounts = dict(volume.split(":")[:2][::-1] for volume in grafana["volumes"])
    assert mounts[provider["options"]["path"]] == "./dashboards/json"
    assert mounts["/etc/grafana/provisioning"] == "./dashboards/provisioning"
