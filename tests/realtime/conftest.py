"""Websocket helpers: a socket that validates every message it receives against the contract."""

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from accounts import services
from accounts.models import User
from config.asgi import application
from realtime import services as realtime_services
from tests.realtime.helpers import (
    ORIGIN,
    Socket,
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
