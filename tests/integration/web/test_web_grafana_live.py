"""The web server pushes stored reviews to Grafana Live when GRAFANA_URL and GRAFANA_TOKEN are set.

Grafana cannot run on this machine: a local HTTP server stands in for its push endpoint and
records what it receives. Broker, scoring loop and web app are real.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import SecretStr


class Recorder(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Recorder.received.append((self.path, self.headers.get("Authorization", ""), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_stored_reviews_reach_the_grafana_live_endpoint(make_client: Any, scoring_loop: Any) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = make_client(
            grafana_url=f"http://127.0.0.1:{server.server_port}",
            grafana_token=SecretStr("live-token"), grafana_live_interval_s=0.2,
        )
        response = client.post("/api/review?wait=1", json={"review": "Lovely staff", "rating": 5, "brand": "LiveCo"})
        assert response.status_code in (200, 201, 202), response.text
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not Recorder.received:
            time.sleep(0.1)
        assert Recorder.received, "no push reached the stand-in Grafana"
        path, authorization, body = Recorder.received[0]
        assert path == "/api/live/push/reviewpulse"
        assert authorization == "Bearer live-token"
        assert body.decode().startswith("reviews")
    finally:
        server.shutdown()
