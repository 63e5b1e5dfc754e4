"""docker-compose.yml least privilege: ClickHouse users per service, container hardening, the Grafana token.

Nothing runs a container here (no Docker engine): the compose file and the ClickHouse users
files are parsed, and what they grant is compared with what the code does (which tables
the worker's and the web tier's storage calls insert into).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
USERS_DIR = REPO / "deploy" / "clickhouse" / "users.d"
REVIEWPULSE_SERVICES = ("migrate", "worker", "web", "demo-site", "crawler")
#: What the ClickHouse entrypoint needs: chown the data volume, then switch to its own user.
CLICKHOUSE_CAPABILITIES = {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"}
#: The only DDL an application user may hold: what `migrate()`'s up-to-date check executes.
STARTUP_CHECK_GRANTS = {"CREATE DATABASE ON reviewpulse.*", "CREATE TABLE ON reviewpulse.schema_migrations",
                        "SELECT ON reviewpulse.schema_migrations"}
FORBIDDEN_RIGHTS = re.compile(r"\b(ALL|ALTER|DROP|TRUNCATE|OPTIMIZE|KILL|SYSTEM|ACCESS|USER|ROLE|GRANT OPTION|"
                              r"INTROSPECTION|SOURCES|dictGet)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def users() -> dict[str, ET.Element]:
    """ClickHouse user name -> its element, from every users.d file."""
    found: dict[str, ET.Element] = {}
    for path in sorted(USERS_DIR.glob("*.xml")):
        for user in ET.parse(path).getroot().findall("users/*"):
            assert user.tag not in found, f"user {user.tag} is defined twice"
            found[user.tag] = user
    return found


def grants(user: ET.Element) -> set[str]:
    return {re.sub(r"^GRANT\s+", "", (q.text or "").strip()) for q in user.findall("grants/query")}


def clickhouse_user(service: dict[str, Any]) -> str:
    """The user name in a service's CLICKHOUSE_URL (interpolation defaults resolved)."""
    url = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", service["environment"]["CLICKHOUSE_URL"])
    match = re.match(r"clickhouse://([^:@/]+):", url)
    assert match, f"no user in {url}"
    return match.group(1)


def password_variable(service: dict[str, Any]) -> str:
    match = re.search(r":\$\{([A-Z_]+)[:?}]", service["environment"]["CLICKHOUSE_URL"])
    assert match, "the password must come from .env"
    return match.group(1)


def test_each_service_logs_in_as_its_own_clickhouse_user(compose: dict[str, Any]) -> None:
    services = compose["services"]
    owner = re.sub(r"\$\{CLICKHOUSE_USER:-(\w+)\}", r"\1", services["clickhouse"]["environment"]["CLICKHOUSE_USER"])
    assert clickhouse_user(services["migrate"]) == owner
    assert clickhouse_user(services["worker"]) == "reviewpulse_worker"
    assert clickhouse_user(services["web"]) == "reviewpulse_web"
    names = [password_variable(services[name]) for name in ("migrate", "worker", "web")]
    assert len(set(names)) == 3, f"services share a ClickHouse password: {names}"
    for name in ("crawler", "demo-site"):
        assert "CLICKHOUSE_URL" not in services[name].get("environment", {}), f"{name} needs no database"


def test_application_users_exist_with_passwords_from_the_clickhouse_environment(
        compose: dict[str, Any], users: dict[str, ET.Element]) -> None:
    clickhouse = compose["services"]["clickhouse"]
    mounted = {Path(v.split(":")[0]).name for v in clickhouse["volumes"] if v.startswith("./deploy/clickhouse/")}
    assert mounted == {path.name for path in USERS_DIR.glob("*.xml")}, "mount every users.d file"
    for service_name in ("worker", "web"):
        service = compose["services"][service_name]
        user = users[clickhouse_user(service)]
        env_name = user.find("password").get("from_env")  # type: ignore[union-attr]
        assert env_name == password_variable(service), f"{user.tag}: the service and ClickHouse disagree"
        assert env_name in clickhouse["environment"]


def test_no_user_may_manage_access(compose: dict[str, Any], users: dict[str, ET.Element]) -> None:
    assert str(compose["services"]["clickhouse"]["environment"]["CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT"]) == "0"
    for name, user in users.items():
        assert user.findtext("access_management", "0").strip() == "0", f"{name} may manage users and grants"
        for grant in grants(user):
            assert not FORBIDDEN_RIGHTS.search(grant.split(" ON ")[0]), f"{name}: {grant}"


def inserted_tables() -> dict[str, str]:
    """Storage method -> table, from stream/storage.py (``def insert_x`` ... ``client.insert("table"``)."""
    source = (REPO / "stream" / "storage.py").read_text()
    methods = re.findall(r"def (insert_\w+)\(.*?self\.client\.insert\(\s*\"(\w+)\"", source, flags=re.DOTALL)
    assert methods, "stream/storage.py: no inserts found"
    return dict(methods)


def called_inserts(room: str) -> set[str]:
    return {table for path in (REPO / room).rglob("*.py") for method, table in inserted_tables().items()
            if re.search(rf"\.{method}\b", path.read_text())}


def test_worker_is_insert_only_and_may_insert_what_it_writes(users: dict[str, ET.Element]) -> None:
    worker = grants(users["reviewpulse_worker"])
    inserts = {g.split(" ON reviewpulse.")[1] for g in worker if g.startswith("INSERT ON reviewpulse.")}
    assert called_inserts("stream") <= inserts
    # ...and reads the model registry: which model is active (stream/hotswap.py).
    registry_reads = {"SELECT ON reviewpulse.models", "SELECT ON reviewpulse.model_promotions"}
    assert worker - STARTUP_CHECK_GRANTS == {f"INSERT ON reviewpulse.{table}" for table in inserts} | registry_reads
    assert "SELECT ON reviewpulse.*" not in worker


def test_web_reads_and_inserts_only_the_catalogue(users: dict[str, ET.Element]) -> None:
    web = grants(users["reviewpulse_web"])
    assert called_inserts("web") == {"brands"}
    # the admin label queue (web/labels.py -> stream/label_queue.set_label) stores admin labels
    assert web - STARTUP_CHECK_GRANTS == {"SELECT ON reviewpulse.*", "INSERT ON reviewpulse.brands",
                                          "INSERT ON reviewpulse.review_labels"}


def test_granted_tables_are_tables_the_migrations_create(users: dict[str, ET.Element]) -> None:
    migrations = (REPO / "stream" / "migrations.py").read_text()
    created = set(re.findall(r"CREATE (?:TABLE|MATERIALIZED VIEW) IF NOT EXISTS (\w+)", migrations))
    for name, user in users.items():
        for grant in grants(user):
            table = grant.split(" ON reviewpulse.")[-1]
            assert table == "*" or table in created, f"{name}: {grant} names no table of stream/migrations.py"


def test_every_container_is_hardened(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert "no-new-privileges:true" in service.get("security_opt", []), f"{name}: no-new-privileges"
        assert service.get("cap_drop") == ["ALL"], f"{name}: drop every capability"
        added = set(service.get("cap_add", []))
        assert added <= (CLICKHOUSE_CAPABILITIES if name == "clickhouse" else set()), f"{name} adds {added}"
        assert not service.get("privileged"), f"{name} is privileged"


def test_reviewpulse_containers_have_read_only_roots(compose: dict[str, Any]) -> None:
    for name in REVIEWPULSE_SERVICES:
        service = compose["services"][name]
        assert service.get("read_only") is True, f"{name}: read-only root"
        assert "/tmp" in service.get("tmpfs", []), f"{name}: a writable /tmp"
    worker = compose["services"]["worker"]
    assert worker["working_dir"] in worker["tmpfs"], "Faust writes its data folder into the working directory"


def test_only_the_web_tier_holds_the_grafana_token(compose: dict[str, Any]) -> None:
    holders = {name for name, service in compose["services"].items() if "GRAFANA_TOKEN" in service.get("environment", {})}
    assert holders == {"web"}
    assert compose["services"]["web"]["environment"]["GRAFANA_URL"] == "http://grafana:3000"
    admin = {name for name, service in compose["services"].items()
             if "GF_SECURITY_ADMIN_PASSWORD" in service.get("environment", {})}
    assert admin == {"grafana"}
    example = (REPO / ".env.example").read_text()
    token_doc = example[example.index("GRAFANA_TOKEN") - 600:example.index("GRAFANA_TOKEN")]
    assert "Live" in token_doc and "expir" in token_doc, ".env.example: say what the token may do and when it expires"
