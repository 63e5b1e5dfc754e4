"""A stand-in for the few Grafana HTTP API endpoints ``dashboards push`` uses.

Grafana itself cannot run on the build machine (no Docker, no Grafana binary, no network),
so the push test talks real HTTP to this stdlib server instead. It keeps state the way
Grafana does (ids and versions added on save, secure fields hidden on read) and records
every request so a test can see what a push did.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class GrafanaStub:
    def __init__(self, token: str) -> None:
        self.token = token
        self.folders: dict[str, dict[str, Any]] = {}
        self.datasources: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.alert_rules: dict[str, dict[str, Any]] = {}
        #: (folder uid, group) -> evaluation interval in seconds; a rule's new group gets Grafana's default
        self.rule_groups: dict[tuple[str, str], int] = {}
        self.requests: list[tuple[str, str]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> GrafanaStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def writes(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path in self.requests if method != "GET"]

    # --- the API ---------------------------------------------------------------------------
    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        routes = [
            ("GET", r"/api/folders/([\w-]+)", self._get_folder),
            ("POST", r"/api/folders", self._create_folder),
            ("PUT", r"/api/folders/([\w-]+)", self._update_folder),
            ("GET", r"/api/datasources/uid/([\w-]+)", self._get_datasource),
            ("POST", r"/api/datasources", self._create_datasource),
            ("PUT", r"/api/datasources/uid/([\w-]+)", self._update_datasource),
            ("GET", r"/api/dashboards/uid/([\w-]+)", self._get_dashboard),
            ("POST", r"/api/dashboards/db", self._save_dashboard),
            ("GET", r"/api/v1/provisioning/alert-rules/([\w-]+)", self._get_alert_rule),
            ("POST", r"/api/v1/provisioning/alert-rules", self._create_alert_rule),
            ("PUT", r"/api/v1/provisioning/alert-rules/([\w-]+)", self._update_alert_rule),
            ("GET", r"/api/v1/provisioning/folder/([\w-]+)/rule-groups/([\w-]+)", self._get_rule_group),
            ("PUT", r"/api/v1/provisioning/folder/([\w-]+)/rule-groups/([\w-]+)", self._update_rule_group),
        ]
        for route_method, pattern, action in routes:
            match = re.fullmatch(pattern, path)
            if route_method == method and match:
                return action(body, *match.groups())
        return 404, {"message": f"no route {method} {path}"}

    def _get_folder(self, _: Any, uid: str) -> tuple[int, Any]:
        return (200, self.folders[uid]) if uid in self.folders else (404, {"message": "folder not found"})

    def _create_folder(self, body: Any) -> tuple[int, Any]:
        if body["uid"] in self.folders:
            return 409, {"message": "a folder with the same uid already exists"}
        self.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"], "id": len(self.folders) + 1,
                                     "version": 1}
        return 200, self.folders[body["uid"]]

    def _update_folder(self, body: Any, uid: str) -> tuple[int, Any]:
        self.folders[uid].update(title=body["title"], version=self.folders[uid]["version"] + 1)
        return 200, self.folders[uid]

    def _get_datasource(self, _: Any, uid: str) -> tuple[int, Any]:
        if uid not in self.datasources:
            return 404, {"message": "Data source not found"}
        stored = dict(self.datasources[uid])
        secure = stored.pop("secureJsonData", {})
        return 200, {**stored, "secureJsonFields": {key: True for key in secure}}

    def _create_datasource(self, body: Any) -> tuple[int, Any]:
        if body["uid"] in self.datasources:
            return 409, {"message": "data source with the same uid already exists"}
        self.datasources[body["uid"]] = {**body, "id": len(self.datasources) + 1, "orgId": 1, "readOnly": False}
        return 200, {"id": self.datasources[body["uid"]]["id"], "message": "Datasource added"}

    def _update_datasource(self, body: Any, uid: str) -> tuple[int, Any]:
        if self.datasources[uid].get("readOnly"):
            return 403, {"message": "Cannot update read-only data source"}
        self.datasources[uid] = {**self.datasources[uid], **body}
        return 200, {"message": "Datasource updated"}

    def _get_dashboard(self, _: Any, uid: str) -> tuple[int, Any]:
        if uid not in self.dashboards:
            return 404, {"message": "Dashboard not found"}
        stored = self.dashboards[uid]
        return 200, {"dashboard": stored["dashboard"], "meta": {"folderUid": stored["folderUid"], "slug": uid}}

    def _save_dashboard(self, body: Any) -> tuple[int, Any]:
        dashboard = dict(body["dashboard"])
        previous = self.dashboards.get(dashboard["uid"])
        if previous and not body.get("overwrite"):
            return 412, {"message": "version-mismatch"}
        version = previous["dashboard"]["version"] + 1 if previous else 1
        dashboard.update(id=len(self.dashboards) + 1 if not previous else previous["dashboard"]["id"],
                         version=version)
        self.dashboards[dashboard["uid"]] = {"dashboard": dashboard, "folderUid": body.get("folderUid", "")}
        return 200, {"status": "success", "uid": dashboard["uid"], "version": version}

    # Alert rules as Grafana's provisioning API keeps them: ids, ``updated`` and ``provenance`` added on
    # save ("api" unless X-Disable-Provenance), a uid taken is 409, the folder must exist, ``for`` read back
    # as a duration string; a rule group is its folder and title, its interval settable on its own.
    DEFAULT_INTERVAL_S = 60

    def _get_alert_rule(self, _: Any, uid: str) -> tuple[int, Any]:
        return (200, self.alert_rules[uid]) if uid in self.alert_rules else (404, {"message": "rule not found"})

    def _store_rule(self, body: Any, rule_id: int) -> dict[str, Any]:
        group = (body["folderUID"], body["ruleGroup"])
        self.rule_groups.setdefault(group, self.DEFAULT_INTERVAL_S)
        rule = {**body, "id": rule_id, "updated": "2026-01-01T00:00:00Z", "provenance": "api"}
        self.alert_rules[body["uid"]] = rule
        return rule

    def _create_alert_rule(self, body: Any) -> tuple[int, Any]:
        if body["uid"] in self.alert_rules:
            return 409, {"message": "a rule with this uid already exists"}
        if body["folderUID"] not in self.folders:
            return 400, {"message": f"folder {body['folderUID']} does not exist"}
        return 201, self._store_rule(body, len(self.alert_rules) + 1)

    def _update_alert_rule(self, body: Any, uid: str) -> tuple[int, Any]:
        existing = self.alert_rules.get(uid)
        if existing is None:
            return 404, {"message": "rule not found"}
        if existing["provenance"] == "file":
            return 403, {"message": "cannot change provenance from 'file' to 'api'"}
        return 200, self._store_rule(body, existing["id"])

    def _get_rule_group(self, _: Any, folder_uid: str, group: str) -> tuple[int, Any]:
        if (folder_uid, group) not in self.rule_groups:
            return 404, {"message": "rule group not found"}
        rules = [rule for rule in self.alert_rules.values() if (rule["folderUID"], rule["ruleGroup"]) == (folder_uid, group)]
        return 200, {"title": group, "folderUid": folder_uid, "interval": self.rule_groups[(folder_uid, group)],
                     "rules": rules}

    def _update_rule_group(self, body: Any, folder_uid: str, group: str) -> tuple[int, Any]:
        if (folder_uid, group) not in self.rule_groups:
            return 404, {"message": "rule group not found"}
        self.rule_groups[(folder_uid, group)] = int(body["interval"])
        return 200, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                stub.requests.append((self.command, self.path))
                if self.headers.get("Authorization") != f"Bearer {stub.token}":
                    status, payload = 401, {"message": "Unauthorized"}
                else:
                    status, payload = stub.handle(self.command, self.path.split("?")[0], body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args: object) -> None:
                pass

        return Handler
