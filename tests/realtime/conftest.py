"""Websocket helpers: a socket that validates every message it receives against the contract."""

import os
import socket as sockets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts import services
from accounts.models import User
from config.asgi import application
from realtime import services as realtime_services
from tests.clock import in_test_clock
from tests.realtime.helpers import (
    ORIGIN,
    Socket,
    database_url,
    free_port,
)


@pytest.fixture
async def socket() -> AsyncIterator[Callable[..., Awaitable[Socket]]]:
    """`await socket(token=...)`: a connected (and, given a token, authenticated) socket."""
    opened: list[WebsocketCommunicator] = []

    async def open_socket(token: str | None = None, headers: list | None = None) -> Socket:
        communicator = WebsocketCommunicator(application, "/ws/", headers=[ORIGIN] if headers is None else headers)
        connected, _ = await communicator.connect()
        assert connected
        opened.append(communicator)
        sock = Socket(communicator)
        if token is not None:
            await sock.authenticate(token)
        return sock

    yield open_socket
    for communicator in opened:
        await communicator.disconnect()


@pytest.fixture
def token_of() -> Callable[[User], Awaitable[str]]:
    async def issue(user: User) -> str:
        return (await database_sync_to_async(services.token_issue)(user=user)).token

    return issue


@pytest.fixture
def display_token(ada: User) -> str:
    return realtime_services.display_token_create(actor=ada, name="Lobby screen").token


@pytest.fixture
def daphne_server(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """`daphne_server()`: a real daphne process on a free port of 127.0.0.1, on the test
    database and Redis; returns its base URL. Every process is stopped at teardown."""
    from django.conf import settings

    processes: list[subprocess.Popen] = []
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "DEBUG": "false",
        "SECRET_KEY": "test-only-secret-key",
        "THROTTLE_ENABLED": "false",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "LOG_LEVEL": "WARNING",
    }

    def start() -> str:
        port = free_port()
        log = (tmp_path / f"daphne-{port}.log").open("w")
        process = subprocess.Popen(
            in_test_clock([str(Path(sys.executable).parent / "daphne"), "-v", "0", "-b", "127.0.0.1", "-p",
                           str(port), "config.asgi:application"]),
            cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        processes.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / f"daphne-{port}.log").read_text()
            with sockets.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    return f"127.0.0.1:{port}"
            time.sleep(0.1)
        raise AssertionError(f"daphne did not listen on {port} within 60 s")

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
