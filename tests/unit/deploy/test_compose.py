"""docker-compose.yml, .env.example and deploy/ checked against what the code reads.

Docker cannot run on the build machine, so nothing here starts a container: the file is
parsed, validated against the official Compose schema, and every name in it (environment
variables, commands, mounted paths, secrets) is checked against the code and the repo.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from kernel.settings import Settings

REPO = Path(__file__).resolve().parents[3]
COMPOSE_SCHEMA = REPO.parent / "shared" / "schemas" / "compose-spec.json"
EXPECTED_SERVICES = {"kafka", "clickhouse", "grafana", "worker", "web", "migrate", "retrain", "crawler", "demo-site"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|SALT|HASH")
INTERPOLATION = re.compile(r"\$\{([A-Z0-9_]+)(?:(?::?[-?])[^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def reviewpulse_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Services that run the ReviewPulse image (built from deploy/Dockerfile)."""
    return {name: service for name, service in compose["services"].items()
            if service.get("build", {}).get("dockerfile") == "deploy/Dockerfile"}


def test_compose_file_is_valid_against_the_official_schema(compose: dict[str, Any]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    if not COMPOSE_SCHEMA.exists():
        pytest.skip(f"{COMPOSE_SCHEMA} is absent (it lives in the project's shared/ folder)")
    jsonschema.validate(compose, json.loads(COMPOSE_SCHEMA.read_text()))


def test_every_service_the_code_expects_exists(compose: dict[str, Any]) -> None:
    assert EXPECTED_SERVICES <= set(compose["services"])


def test_every_image_is_pinned_to_a_version(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        image = service.get("image", "")
        assert image, f"service {name} names no image"
        if "@sha256:" in image:
            continue
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"service {name}: image {image!r} has no tag"
        assert tag != "latest" and re.search(r"\d", tag), f"service {name}: image {image!r} is not pinned"


def test_reviewpulse_services_only_receive_settings_the_code_reads(
        reviewpulse_services: dict[str, dict[str, Any]]) -> None:
    known = {name.upper() for name in Settings.model_fields}
    assert set(reviewpulse_services) >= {"worker", "web", "migrate", "retrain", "crawler", "demo-site"}
    for name, service in reviewpulse_services.items():
        unknown = set(service.get("environment", {})) - known
        assert not unknown, f"service {name} sets {sorted(unknown)}, which kernel.settings.Settings never reads"
        assert "env_file" not in service, f"service {name}: pass settings explicitly, not through env_file"


def _cli_commands() -> dict[str, Any]:
    from reviewpulse.cli import app

    return dict(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("service_name", ["worker", "web", "migrate", "retrain", "crawler", "demo-site"])
def test_service_command_is_a_real_reviewpulse_subcommand(compose: dict[str, Any], service_name: str) -> None:
    command = compose["services"][service_name]["command"]
    assert command[0] == "reviewpulse", f"{service_name} should run the reviewpulse console script"
    subcommand = command[1]
    commands = _cli_commands()
    assert subcommand in commands, f"`reviewpulse {subcommand}` is not a command of the typer app"
    options = {opt for param in commands[subcommand].params for opt in param.opts}
    for word in command[2:]:
        if word.startswith("--"):
            assert word in options, f"`reviewpulse {subcommand}` has no option {word}"


def test_no_secret_is_written_into_the_compose_file(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert INTERPOLATION.fullmatch(str(value)), f"{name}.{key} must come from .env, not the file"
            masked = INTERPOLATION.sub("<from .env>", str(value))
            for password in re.findall(r"://[^:/@]*:([^@]*)@", masked):
                assert password == "<from .env>", f"{name}.{key} has a literal password in a URL"


def test_every_interpolated_variable_is_documented_in_env_example() -> None:
    used = set(INTERPOLATION.findall((REPO / "docker-compose.yml").read_text()))
    documented = {line.split("=", 1)[0].strip() for line in (REPO / ".env.example").read_text().splitlines()
                  if "=" in line and not line.lstrip().startswith("#")}
    assert used, "docker-compose.yml should take its secrets from .env"
    assert used <= documented, f"add {sorted(used - documented)} to .env.example"


def test_dependencies_wait_for_health_and_migrations(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown service {target}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target}'s health, which has no check"
    for name in ("worker", "web"):
        depends = services[name]["depends_on"]
        assert depends["kafka"]["condition"] == "service_healthy"
        assert depends["clickhouse"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_restart_policies_fit_each_service(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        expected = {"no"} if name in ("migrate", "retrain", "crawler") else {"always", "unless-stopped", "on-failure"}
        assert service.get("restart") in expected, f"service {name}: restart {service.get('restart')!r}"


def test_two_workers_share_the_partitions(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert worker["deploy"]["replicas"] == 2
    partitions = int(re.sub(r"\$\{TOPIC_PARTITIONS:-(\d+)\}", r"\1", worker["environment"]["TOPIC_PARTITIONS"]))
    assert partitions >= worker["deploy"]["replicas"], "a worker beyond the partition count sits idle"


def test_crawler_and_demo_site_only_start_with_the_crawl_profile(compose: dict[str, Any]) -> None:
    for name in ("crawler", "demo-site"):
        assert compose["services"][name]["profiles"] == ["crawl"]


def test_bind_mounts_point_at_files_in_the_repo(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), f"service {name} mounts {source}, which does not exist"


def test_volumes_persist_the_stateful_services(compose: dict[str, Any]) -> None:
    for name, path in (("kafka", "/var/lib/kafka/data"), ("clickhouse", "/var/lib/clickhouse"),
                       ("grafana", "/var/lib/grafana")):
        mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in compose["services"][name]["volumes"]}
        assert mounts.get(path) in compose["volumes"], f"{name} keeps {path} outside a named volume"
    assert compose["services"]["kafka"]["environment"]["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"
    assert "broker,controller" == compose["services"]["kafka"]["environment"]["KAFKA_PROCESS_ROLES"]
