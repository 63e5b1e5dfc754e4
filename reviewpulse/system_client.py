"""The one place that decides: ask the running system, or open the database? For every command.

chDB allows one process per data directory, so while ``reviewpulse run`` holds it, other
commands (``reviewpulse models ...``, ``retrain``, ``stats``) cannot open the storage.
They ask the running server instead: run.json names its web address and a random
``registry_token`` (the file is written with mode 0600, so only its owner can read the
token), and the server's endpoints accept that token as ``Authorization: Bearer`` (or an
admin session). Without a running system — or against a ClickHouse server, where any
number of processes may connect — they open the storage themselves.

Four things are read this way: :func:`registry_client` (the model registry),
:func:`read_labelled_rows` (rows for a retrain), :func:`stats_from_web` (``reviewpulse
stats``) and :func:`alerts_from_web` (``reviewpulse alerts``); the last two read ClickHouse
through :func:`open_local_storage` when no system runs. The rooms receive what these
return; none of them chooses.

Both registry clients have the methods of :class:`stream.registry.store.Registry`: ``register``, ``get``,
``list``, ``active``, ``promote``, ``rollback``, ``history``, plus ``close()`` (or use them
as context managers). ``promote``/``rollback`` publish the switch to ``models.control``
either way (the server publishes it itself). Errors: ValueError for an unknown version or
a bad record (the message lists the known versions), :class:`RegistryUnavailable` when the
running server cannot be reached or refuses the token.
"""

from __future__ import annotations

import builtins
from datetime import datetime
from types import TracebackType
from typing import Any

from kernel.runfile import check_data_dir_free, read_run_file, resolve_bootstrap, running_pid
from kernel.settings import Settings
from stream.registry.store import ModelRecord, Registry
from stream.storage.clickhouse import Storage, open_storage
from stream.storage.migrations import migrate

HTTP_TIMEOUT_S = 30.0


class RegistryUnavailable(RuntimeError):
    """The running system's registry endpoints did not answer or refused the token."""


class _Closing:
    def close(self) -> None:  # pragma: no cover - overridden where there is something to close
        pass

    def __enter__(self) -> Any:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class HttpRegistry(_Closing):
    """The registry of a running ``reviewpulse run`` (or ``reviewpulse web``), over HTTP."""

    def __init__(self, web_url: str, token: str) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.web_url = web_url.rstrip("/")
        self.http = httpx.Client(base_url=self.web_url, headers=headers, timeout=HTTP_TIMEOUT_S)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        import httpx

        try:
            response = self.http.request(method, path, json=body)
        except httpx.HTTPError as error:
            raise RegistryUnavailable(f"the running system at {self.web_url} did not answer: {error}") from error
        if response.status_code in (401, 403):
            raise RegistryUnavailable(f"{self.web_url} refused the registry token ({response.text[:200]}); "
                                      "is run.json from this system, or REGISTRY_TOKEN set to its token?")
        try:
            data = response.json()
        except ValueError:
            data = {"error": response.text[:500]}
        if response.status_code == 404 and method == "GET" and path.startswith("/api/models/"):
            return None
        message = data.get("error") if isinstance(data, dict) else str(data)
        if response.status_code == 503:
            raise RegistryUnavailable(str(message))
        if response.status_code >= 400:
            raise ValueError(message)
        return data

    def register(self, record: ModelRecord) -> None:
        self._call("POST", "/api/models", record.to_dict())

    def get(self, version: str) -> ModelRecord | None:
        data = self._call("GET", f"/api/models/{version}")
        return ModelRecord.from_dict(data) if data else None

    def list(self) -> list[ModelRecord]:
        return [ModelRecord.from_dict(m) for m in self._call("GET", "/api/models")["models"]]

    def active(self) -> ModelRecord:
        return ModelRecord.from_dict(self._call("GET", "/api/models")["active"])

    # builtins.list: inside the class body ``list`` is the method above.
    def history(self) -> builtins.list[dict[str, Any]]:
        return list(self._call("GET", "/api/models")["history"])

    def shadow(self) -> builtins.list[dict[str, Any]]:
        return list(self._call("GET", "/api/models").get("shadow") or [])

    def promote(self, version: str, by: str, note: str = "") -> ModelRecord:
        return ModelRecord.from_dict(self._call("POST", "/api/models/promote",
                                                {"version": version, "by": by, "note": note}))

    def rollback(self, by: str, note: str = "") -> ModelRecord:
        return ModelRecord.from_dict(self._call("POST", "/api/models/rollback", {"by": by, "note": note}))

    def close(self) -> None:
        self.http.close()


class LocalRegistry(_Closing):
    """The registry over storage this process opens (no running system, or a ClickHouse server)."""

    def __init__(self, settings: Settings) -> None:
        from kernel.runfile import check_data_dir_free
        from stream.registry.control import kafka_publisher
        from stream.storage.clickhouse import open_storage
        from stream.storage.migrations import migrate

        check_data_dir_free(settings)
        self.storage = open_storage(settings)
        migrate(self.storage)
        bootstrap = resolve_bootstrap(settings)
        #: False when no broker is configured: the table changes, running workers are not told.
        self.publishes = bool(bootstrap)
        self.registry = Registry(self.storage, settings, kafka_publisher(bootstrap, settings) if bootstrap else None)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.registry, name)

    def close(self) -> None:
        self.storage.close()


def running_web(settings: Settings) -> tuple[str, str] | None:
    """(web address, registry token) of the live system run.json names; None when none runs."""
    info = read_run_file(settings) or {}
    if not info.get("web") or running_pid(settings) is None:
        return None
    return str(info["web"]), str(info.get("registry_token") or settings.registry_token.get_secret_value())


def open_local_storage(settings: Settings) -> Storage:
    """The storage opened by this process, schema up to date (SetupError while another process holds chDB)."""
    check_data_dir_free(settings)
    storage = open_storage(settings)
    try:
        migrate(storage)
    except BaseException:
        storage.close()
        raise
    return storage


def registry_client(settings: Settings) -> HttpRegistry | LocalRegistry:
    """The running system's registry when run.json names a live one, else the storage's own."""
    web = running_web(settings)
    return HttpRegistry(*web) if web else LocalRegistry(settings)


def rows_from_web(web_url: str, token: str, sources: list[str] | None, since: datetime | None,
                  limit: int) -> list[dict[str, Any]]:
    """Labelled rows from a running system's ``GET /api/training/rows``."""
    import httpx

    params: list[tuple[str, str | int | float | bool | None]] = [("limit", limit)] + [("source", s) for s in sources or []]
    if since is not None:
        params.append(("since", since.isoformat()))
    try:
        response = httpx.get(f"{web_url}/api/training/rows", params=params, timeout=120,
                             headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as error:
        raise RegistryUnavailable(f"the running system at {web_url} did not answer: {error}") from error
    if response.status_code in (401, 403):
        raise RegistryUnavailable(f"{web_url} refused the registry token: is run.json from this system?")
    response.raise_for_status()
    return list(response.json()["rows"])


def read_labelled_rows(settings: Settings, sources: list[str] | None = None, since: datetime | None = None,
                       limit: int = 100_000) -> tuple[list[dict[str, Any]], str]:
    """Rows for a retrain from the running system if there is one, else from ClickHouse; and where they came from."""
    from stream.storage.labelled import labelled_rows

    web = running_web(settings)
    if web:
        return rows_from_web(*web, sources, since, limit), "the running system (GET /api/training/rows)"
    storage = open_local_storage(settings)
    try:
        return labelled_rows(storage, sources, since, limit, settings.admin_label_weight), "ClickHouse"
    finally:
        storage.close()


def web_json(web_url: str, token: str, path: str, timeout_s: float = HTTP_TIMEOUT_S) -> dict[str, Any]:
    """``GET path`` of a running web server with its token; :class:`RegistryUnavailable` when it fails."""
    import httpx

    try:
        response = httpx.get(f"{web_url}{path}", timeout=timeout_s,
                             headers={"Authorization": f"Bearer {token}"} if token else {})
        response.raise_for_status()
        return dict(response.json())
    except (httpx.HTTPError, ValueError) as error:
        raise RegistryUnavailable(f"the running system at {web_url} did not answer {path}: {error}") from error


def stats_from_web(settings: Settings) -> dict[str, Any] | None:
    """``/api/stats`` of the system in run.json (with its token: dead-letter reasons too); None when none answers."""
    running = running_web(settings)
    if running is None:
        return None
    try:
        return web_json(*running, "/api/stats", timeout_s=10)
    except RegistryUnavailable:
        return None


def alerts_from_web(settings: Settings) -> list[dict[str, Any]] | None:
    """What fires now, from ``/api/alerts`` of the system in run.json; None when no system runs.

    Unlike stats there is no falling back: while that system runs, this process may not open its
    storage, so a refusal (wrong token) or a silence is :class:`RegistryUnavailable`.
    """
    running = running_web(settings)
    return None if running is None else list(web_json(*running, "/api/alerts")["firing"])
