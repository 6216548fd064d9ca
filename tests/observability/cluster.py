"""Real processes on one machine, as a deployment runs them: daphne web processes, a Celery
worker and beat, the outbox relay, and Debian's nginx in front (deploy/nginx/clinic.conf), all on free ports,
sharing the test database, Redis and one PROMETHEUS_MULTIPROC_DIR."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

from tests.clock import in_test_clock
from tests.servers import database_url, free_port

BIN = Path(sys.executable).parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
METRICS_TOKEN = "cluster-metrics-token-0123456789"


def nginx_available() -> bool:
    return Path(NGINX).exists()


class Cluster:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.processes: dict[str, subprocess.Popen] = {}
        (tmp / "metrics").mkdir()
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "DEBUG": "false",
            "SECRET_KEY": "test-only-secret-key",
            "THROTTLE_ENABLED": "false",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "json",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
            "METRICS_TOKEN": METRICS_TOKEN,
            "EVENT_RELAY": "listen",
            "EVENT_RELAY_INTERVAL_SECONDS": "1",
            "HEARTBEAT_INTERVAL_SECONDS": "1",
        }

    # --- processes ----------------------------------------------------------------------

    def _start(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = (self.tmp / f"{name}.log").open("w")
        process = subprocess.Popen(argv, cwd=settings.BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = process
        return process

    def _await_port(self, name: str, port: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.processes[name].poll() is None, self.log(name)
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.1)
        raise AssertionError(f"{name} did not listen on {port}: {self.log(name)}")

    def _await_log(self, name: str, text: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.processes[name].poll() is None, self.log(name)
            if text in self.log(name):
                return
            time.sleep(0.2)
        raise AssertionError(f"{name} never logged {text!r}: {self.log(name)}")

    def web(self, name: str) -> str:
        port = free_port()
        self._start(
            name,
            # The Python processes share the test's clock (tests/clock.py); nginx keeps its own.
            in_test_clock([str(BIN / "daphne"), "-v", "0", "--proxy-headers", "-b", "127.0.0.1", "-p", str(port),
                           "config.asgi:application"]),
        )  # fmt: skip
        self._await_port(name, port)
        return f"127.0.0.1:{port}"

    def worker(self, name: str = "worker") -> None:
        self._start(
            name,
            in_test_clock([str(BIN / "celery"), "-A", "config", "worker", "--pool", "prefork", "--concurrency", "1",
                           "--loglevel", "INFO", "--without-mingle", "--without-gossip", "-n", f"{name}@%h"]),
        )  # fmt: skip
        self._await_log(name, "ready")

    def relay(self, name: str = "relay") -> None:
        """The outbox relay (manage.py relay_events), as compose's `relay` service runs it."""
        self._start(name, in_test_clock([sys.executable, "manage.py", "relay_events"]))
        self._await_log(name, "relay: sending committed events")

    def beat(self, name: str = "beat") -> None:
        self._start(
            name,
            in_test_clock([str(BIN / "celery"), "-A", "config", "beat", "--loglevel", "INFO",
                           "--schedule", str(self.tmp / f"{name}-schedule")]),
        )  # fmt: skip
        self._await_log(name, "beat: Starting")

    def proxy(self, upstreams: list[str], sockets: list[str] | None = None) -> str:
        """nginx running deploy/nginx/clinic.conf: REST to `upstreams`, /ws/ to `sockets`
        (the same processes unless given)."""
        port = free_port()
        prefix = self.tmp / "nginx"
        prefix.mkdir()
        server = (settings.BASE_DIR / "deploy" / "nginx" / "clinic.conf").read_text()
        assert "listen 80;" in server
        (prefix / "clinic.conf").write_text(server.replace("listen 80;", f"listen 127.0.0.1:{port};"))
        servers = "".join(f"    server {address} max_fails=1 fail_timeout=10s;\n" for address in upstreams)
        socket_servers = "".join(
            f"    server {address} max_fails=1 fail_timeout=10s;\n" for address in (sockets or upstreams)
        )
        (prefix / "upstream.conf").write_text(
            f"upstream clinic_web {{\n{servers}    keepalive 32;\n}}\nupstream clinic_sockets {{\n{socket_servers}}}\n"
        )
        temp = " ".join(
            f"{kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (prefix / "nginx.conf").write_text(
            f"daemon off;\npid {prefix / 'nginx.pid'};\nerror_log stderr;\nevents {{}}\n"
            f"http {{\n  {temp}\n  include {prefix / 'upstream.conf'};\n  include {prefix / 'clinic.conf'};\n}}\n"
        )
        self._start("nginx", [NGINX, "-e", "stderr", "-p", str(prefix), "-c", str(prefix / "nginx.conf")])
        self._await_port("nginx", port)
        return f"127.0.0.1:{port}"

    def kill(self, name: str) -> None:
        """SIGKILL: no clean exit, as when a machine or a container dies."""
        process = self.processes[name]
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            in_test_clock([sys.executable, "manage.py", *args]),
            cwd=settings.BASE_DIR, env=self.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
