"""docker-compose.yml least privilege: ClickHouse users per service, container hardening, the Grafana token.

Nothing runs a container here (no Docker engine): the compose file and the ClickHouse users
files are parsed, and what they grant is compared with what the code does (which tables
the worker's and the web tier's storage calls insert into, and the tables named in the SQL of
the stream modules the web tier and ``reviewpulse retrain`` / ``reviewpulse models`` import).
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
REVIEWPULSE_SERVICES = ("migrate", "worker", "web", "retrain", "demo-site", "crawler")
#: Service -> its own ClickHouse user (the owner, CLICKHOUSE_USER, is migrate's alone).
APPLICATION_USERS = {"worker": "reviewpulse_worker", "web": "reviewpulse_web", "retrain": "reviewpulse_retrain"}
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
    for service, user in APPLICATION_USERS.items():
        assert clickhouse_user(services[service]) == user
    names = [password_variable(services[name]) for name in ("migrate", *APPLICATION_USERS)]
    assert len(set(names)) == len(names), f"services share a ClickHouse password: {names}"
    with_database = {name for name, service in services.items() if "CLICKHOUSE_URL" in service.get("environment", {})}
    assert with_database == {"migrate", *APPLICATION_USERS}, "a new service needs its own ClickHouse user"
    for name in ("crawler", "demo-site"):
        assert "CLICKHOUSE_URL" not in services[name].get("environment", {}), f"{name} needs no database"


def test_application_users_exist_with_passwords_from_the_clickhouse_environment(
        compose: dict[str, Any], users: dict[str, ET.Element]) -> None:
    clickhouse = compose["services"]["clickhouse"]
    mounted = {Path(v.split(":")[0]).name for v in clickhouse["volumes"] if v.startswith("./deploy/clickhouse/")}
    assert mounted == {path.name for path in USERS_DIR.glob("*.xml")}, "mount every users.d file"
    for service_name in APPLICATION_USERS:
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
    """Storage method -> table, from stream/storage/clickhouse.py (``def insert_x`` ... ``client.insert("table"``)."""
    source = (REPO / "stream" / "storage" / "clickhouse.py").read_text()
    methods = re.findall(r"def (insert_\w+)\(.*?self\.client\.insert\(\s*\"(\w+)\"", source, flags=re.DOTALL)
    assert methods, "stream/storage/clickhouse.py: no inserts found"
    return dict(methods)


def called_inserts(room: str) -> set[str]:
    return {table for path in (REPO / room).rglob("*.py") for method, table in inserted_tables().items()
            if re.search(rf"\.{method}\b", path.read_text())}


PROJECT_IMPORT = re.compile(r"^\s*(?:from|import)\s+((?:stream|reviewpulse)(?:\.\w+)+)", re.MULTILINE)
SQL_WRITE = re.compile(r"\b(?:INSERT INTO|ALTER TABLE|DELETE FROM)\s+(\w+)|client\.insert\(\s*\"(\w+)\"")
SQL_READ = re.compile(r"\b(?:FROM|JOIN)\s+(\w+)")
#: The storage layer: its insert_* methods are counted where they are called (called_inserts);
#: migrations run as the owner, except the startup check (STARTUP_CHECK_GRANTS).
STORAGE_LAYER = {REPO / "stream" / "storage" / "clickhouse.py", REPO / "stream" / "storage" / "migrations.py"}


def stream_modules(*starts: Path) -> set[Path]:
    """The stream/ (and root) modules ``starts`` import, directly or through each other (storage layer aside)."""
    found: set[Path] = set()
    todo = list(starts)
    while todo:
        for name in PROJECT_IMPORT.findall(todo.pop().read_text()):
            module = REPO.joinpath(*name.split(".")).with_suffix(".py")
            if module.is_file() and module not in STORAGE_LAYER and module not in found:
                found.add(module)
                todo.append(module)
    return found


def sql_tables(modules: set[Path]) -> tuple[set[str], set[str]]:
    """(tables written, tables read) by the SQL text of ``modules``."""
    written: set[str] = set()
    read: set[str] = set()
    for module in modules:
        source = module.read_text()
        written |= {insert or client_insert for insert, client_insert in SQL_WRITE.findall(source)}
        read |= set(SQL_READ.findall(source))
    return written, read


def web_writes() -> set[str]:
    """Every table the web process writes: its storage calls and the SQL of the stream modules it uses."""
    modules = stream_modules(*(REPO / "web").rglob("*.py"), REPO / "reviewpulse" / "webserve.py")
    return called_inserts("web") | sql_tables(modules)[0]


def learning_loop_tables() -> tuple[set[str], set[str]]:
    """(written, read) by ``reviewpulse retrain`` and ``reviewpulse models`` against a server."""
    written, read = sql_tables(stream_modules(REPO / "reviewpulse" / "commands" / "retrain.py",
                                              REPO / "reviewpulse" / "commands" / "models.py"))
    assert {"models", "model_promotions"} <= written, "stream/registry/store.py: registry inserts not found"
    assert {"reviews", "review_labels"} <= read, "stream/storage/labelled.py: labelled-row queries not found"
    return written, read


def table_grants(user: ET.Element, right: str) -> set[str]:
    return {g.split(" ON reviewpulse.")[1] for g in grants(user) if g.startswith(f"{right} ON reviewpulse.")}


def test_worker_is_insert_only_and_may_insert_what_it_writes(users: dict[str, ET.Element]) -> None:
    worker = grants(users["reviewpulse_worker"])
    inserts = {g.split(" ON reviewpulse.")[1] for g in worker if g.startswith("INSERT ON reviewpulse.")}
    assert called_inserts("stream") <= inserts
    # ...and reads the model registry: which model is active (stream/registry/hotswap.py).
    registry_reads = {"SELECT ON reviewpulse.models", "SELECT ON reviewpulse.model_promotions"}
    assert worker - STARTUP_CHECK_GRANTS == {f"INSERT ON reviewpulse.{table}" for table in inserts} | registry_reads
    assert "SELECT ON reviewpulse.*" not in worker


def test_web_reads_and_inserts_exactly_what_its_code_writes(users: dict[str, ET.Element]) -> None:
    web = grants(users["reviewpulse_web"])
    assert called_inserts("web") == {"brands"}
    # the admin label queue (stream/storage/label_queue.py) and /api/models (stream/registry/store.py)
    assert {"review_labels", "models", "model_promotions"} <= web_writes()
    assert web - STARTUP_CHECK_GRANTS == {"SELECT ON reviewpulse.*"} | {f"INSERT ON reviewpulse.{t}"
                                                                        for t in web_writes()}


def test_the_automatic_retrainer_may_do_what_retrain_does_with_the_web_user(users: dict[str, ET.Element]) -> None:
    """stream/learning/automatic.py runs `reviewpulse retrain` inside the web container, with its CLICKHOUSE_URL."""
    written, _ = learning_loop_tables()
    assert written <= table_grants(users["reviewpulse_web"], "INSERT")


def test_retrain_user_holds_exactly_what_retrain_and_models_commands_use(users: dict[str, ET.Element]) -> None:
    written, read = learning_loop_tables()
    retrain = grants(users["reviewpulse_retrain"])
    assert retrain - STARTUP_CHECK_GRANTS == ({f"INSERT ON reviewpulse.{table}" for table in written}
                                              | {f"SELECT ON reviewpulse.{table}" for table in read})
    assert STARTUP_CHECK_GRANTS <= retrain, "migrate()'s up-to-date check runs at the start of retrain"


def test_granted_tables_are_tables_the_migrations_create(users: dict[str, ET.Element]) -> None:
    migrations = (REPO / "stream" / "storage" / "migrations.py").read_text()
    created = set(re.findall(r"CREATE (?:TABLE|MATERIALIZED VIEW) IF NOT EXISTS (\w+)", migrations))
    for name, user in users.items():
        for grant in grants(user):
            table = grant.split(" ON reviewpulse.")[-1]
            assert table == "*" or table in created, f"{name}: {grant} names no table of stream/storage/migrations.py"


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
