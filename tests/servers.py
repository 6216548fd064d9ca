"""Real processes for the tests that need the whole stack: `daphne_server`, `relay_process`
(manage.py relay_events) and `redis_server` (a Redis of the test's own, to stop and start).
Started processes share the test's clock and clinic time zone (tests/clock.py, `in_test_clock`)."""

import os
import shutil
import socket as sockets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.clock import in_test_clock


def database_url() -> str:
    """The test database (the one pytest-django made), as a URL for another process."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def free_port() -> int:
    with sockets.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(**extra: str) -> dict[str, str]:
    """The environment of a server process on the test database and Redis."""
    from django.conf import settings

    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "false",
        "SECRET_KEY": "test-only-secret-key",
        "THROTTLE_ENABLED": "false",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "LOG_LEVEL": "WARNING",
        # As in the test process (tests/conftest.py); live tests of the relay say listen.
        "EVENT_RELAY": "inline",
        **extra,
    }


class DaphneServers:
    """`servers(**env)`: a real daphne process on a free port of 127.0.0.1, on the test
    database and Redis (`env` adds to its environment); returns its address.
    `servers.kill(address)` SIGKILLs one (a crash: no goodbye to its sockets)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.processes: dict[str, subprocess.Popen] = {}

    def __call__(self, **extra: str) -> str:
        from django.conf import settings

        port = free_port()
        log = self.directory / f"daphne-{port}.log"
        process = subprocess.Popen(
            in_test_clock([str(Path(sys.executable).parent / "daphne"), "-v", "0", "-b", "127.0.0.1", "-p",
                           str(port), "config.asgi:application"]),
            cwd=settings.BASE_DIR, env=server_env(**extra), stdout=log.open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        address = f"127.0.0.1:{port}"
        self.processes[address] = process
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            with sockets.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return address
            time.sleep(0.1)
        raise AssertionError(f"daphne did not listen on {port} within 60 s")

    def kill(self, address: str) -> None:
        process = self.processes.pop(address)
        process.kill()
        process.wait(5)


@pytest.fixture
def daphne_server(tmp_path: Path) -> Iterator[DaphneServers]:
    """Daphne processes for the test (DaphneServers); every one is stopped at teardown."""
    servers = DaphneServers(tmp_path)
    try:
        yield servers
    finally:
        _stop(list(servers.processes.values()))


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@pytest.fixture
def relay_process(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """`relay_process(**env)`: `manage.py relay_events` on the test database (EVENT_RELAY=listen)."""
    from django.conf import settings

    processes: list[subprocess.Popen] = []

    def start(**extra: str) -> subprocess.Popen:
        log = (tmp_path / f"relay-{len(processes)}.log").open("w")
        manage = str(settings.BASE_DIR / "manage.py")
        command = in_test_clock([manage, "relay_events"])
        process = subprocess.Popen(
            [sys.executable, *command] if command[0] == manage else command,
            cwd=settings.BASE_DIR, env=server_env(EVENT_RELAY="listen", **extra), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        processes.append(process)
        return process

    try:
        yield start
    finally:
        _stop(processes)


class RedisServer:
    """A redis-server of the test's own on a free port: stopping it disturbs nobody else."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with sockets.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self, *, kill: bool = False) -> None:
        """SIGTERM, or SIGKILL with `kill` (a crash: nothing written, no goodbye to clients)."""
        if self.process is not None:
            if kill:
                self.process.kill()
                self.process.wait(5)
            else:
                _stop([self.process])
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
