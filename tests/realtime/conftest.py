"""Websocket helpers: a socket that validates every message it receives against the contract."""

import os
import socket as sockets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.utils import timezone

from accounts import services
from accounts.models import User
from config.asgi import application
from realtime import services as realtime_services
from realtime.contracts import validate_message
from realtime.models import Event
from realtime.publish import publish
from tests.clock import clinic_day, in_test_clock

ORIGIN = (b"origin", b"http://127.0.0.1")


class Socket:
    """A WebsocketCommunicator speaking contract §9; every received message is validated."""

    def __init__(self, communicator: WebsocketCommunicator) -> None:
        self.communicator = communicator

    async def send(self, message: dict[str, Any]) -> None:
        await self.communicator.send_json_to(message)

    async def send_text(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def receive(self, timeout: float = 3) -> dict[str, Any]:
        message = await self.communicator.receive_json_from(timeout=timeout)
        validate_message(message)
        return message

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        await self.send(message)
        return await self.receive()

    async def events(self, count: int) -> list[dict[str, Any]]:
        received = [await self.receive() for _ in range(count)]
        assert all(message["type"] == "event" for message in received), received
        return received

    async def nothing(self, timeout: float = 0.3) -> bool:
        return await self.communicator.receive_nothing(timeout=timeout)

    async def closed_with(self, timeout: float = 3) -> int:
        output = await self.communicator.receive_output(timeout=timeout)
        assert output["type"] == "websocket.close", output
        return output["code"]

    async def authenticate(self, token: str) -> dict[str, Any]:
        answer = await self.request({"action": "auth", "token": token})
        assert answer["type"] == "authenticated", answer
        return answer

    async def subscribe(self, topic: str, **extra: Any) -> dict[str, Any]:
        answer = await self.request({"action": "subscribe", "topic": topic, **extra})
        return answer


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


def _publish_committed(topic: str, event: str, data: dict[str, Any]) -> Event:
    with transaction.atomic():
        return publish(topic=topic, event=event, data=data)


publish_committed = database_sync_to_async(_publish_committed)


def slot_data(doctor_id: int, minutes_from_now: int = 60) -> dict[str, Any]:
    start = (timezone.now() + timedelta(minutes=minutes_from_now)).replace(microsecond=0)
    return {"doctor": doctor_id, "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat()}


def display_data(doctor_id: int, now_serving: int | None, *waiting: int) -> dict[str, Any]:
    return {
        "doctor": doctor_id,
        "date": clinic_day().isoformat(),
        "now_serving": None if now_serving is None else {"queue_number": now_serving, "status": "in_progress"},
        "waiting": [{"queue_number": number, "status": "checked_in"} for number in waiting],
    }


def _database_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def free_port() -> int:
    with sockets.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def daphne_server(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """`daphne_server()`: a real daphne process on a free port of 127.0.0.1, on the test
    database and Redis; returns its base URL. Every process is stopped at teardown."""
    from django.conf import settings

    processes: list[subprocess.Popen] = []
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
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
