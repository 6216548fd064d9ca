"""What config.serving tunes in daphne's Twisted (contract §10's `daphne config.asgi:application`).

It leaves form bodies to Django (Twisted parsed each POST's Content-Type, and any form body, first).
It listens with room for a burst of new connections: Twisted's default backlog of 50 made
the kernel drop connections when 200 clients arrived at once (the racers of `make bench`,
bench/project.py, saw ReadError, no answer at all). Autobahn's debug lines, dropped anyway,
are no longer coloured for every frame sent. And a write goes to the socket at once when
nothing waits before it, instead of on the reactor's next turn; what the kernel refuses is
buffered by Twisted as before, in order, with its back-pressure and its lost connections.

The write tests drive a real `tcp.Connection` over a real socket pair, with Twisted's
MemoryReactor standing in for the event loop: what a reactor would be asked to watch is
what it records."""

import shutil
import socket
import subprocess
from pathlib import Path

import httpx
import pytest
from twisted.internet import tcp
from twisted.internet.error import ConnectionLost
from twisted.internet.protocol import Protocol
from twisted.internet.testing import MemoryReactor

from config import serving
from config.serving import LISTEN_BACKLOG
from tests.factories import PASSWORD


@pytest.mark.django_db(transaction=True)
def test_daphne_started_as_the_contract_says_listens_with_a_large_backlog(daphne_server):
    if shutil.which("ss") is None:
        pytest.skip("iproute2's ss is not installed")
    port = daphne_server().rsplit(":", 1)[1]
    listening = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, check=True)
    # State, Recv-Q (waiting to be accepted), Send-Q (the backlog), local address, peer.
    backlog = int(listening.stdout.split()[2])
    assert backlog >= min(LISTEN_BACKLOG, int(Path("/proc/sys/net/core/somaxconn").read_text())) > 50


def test_under_daphne_autobahn_formats_its_unused_debug_lines_without_colour():
    from autobahn import util

    serving.tune_twisted()
    assert util.hlval(42) == "42"
    assert util.hltype(serving.tune_twisted) == "<config.serving.tune_twisted>"


def test_under_daphne_twisted_leaves_form_bodies_to_django():
    from daphne.http_protocol import WebRequest
    from twisted.web.test.requesthelper import DummyChannel

    serving.tune_twisted()
    serving.tune_twisted()  # idempotent: one wrapper, however often it is applied

    class Server:  # what daphne's request tells of itself on creation
        def protocol_connected(self, request: object) -> None:
            pass

    channel = DummyChannel()
    channel.factory = type("Factory", (), {"server": Server()})()
    assert WebRequest(channel)._parsePOSTFormSubmission is False


@pytest.mark.django_db(transaction=True)
def test_under_daphne_a_form_body_still_reaches_django(daphne_server, alice):
    # Django parses the body itself (DRF's FormParser). Both fields arrive: a wrong password
    # is refused as credentials (401), where a body that never arrived would be a 400.
    host = daphne_server()
    login = f"http://{host}/api/auth/login/"
    response = httpx.post(login, data={"email": alice.email, "password": "not-" + PASSWORD}, timeout=15)
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "invalid_credentials"
    assert httpx.post(login, data={"email": alice.email}, timeout=15).status_code == 400


@pytest.fixture
def connection():
    """A Twisted TCP transport on one end of a socket pair, the test reading the other."""
    serving.tune_twisted()
    ours, peer = socket.socketpair()
    ours.setblocking(False)
    peer.settimeout(5)
    reactor = MemoryReactor()
    transport = tcp.Connection(ours, Protocol(), reactor)
    transport.connected = True
    yield transport, peer, reactor
    ours.close()
    peer.close()


def _read(peer: socket.socket, size: int) -> bytes:
    got = bytearray()
    while len(got) < size:
        got += peer.recv(size - len(got))
    return bytes(got)


def test_a_frame_with_nothing_before_it_is_sent_at_once(connection):
    transport, peer, reactor = connection
    transport.write(b"frame one")
    # Already on the wire, and the reactor was not asked to watch the socket for it.
    assert _read(peer, 9) == b"frame one"
    assert transport not in reactor.getWriters()


def test_what_the_socket_refuses_is_buffered_and_later_frames_queue_behind_it(connection):
    transport, peer, reactor = connection
    big = bytes(range(256)) * 40_000  # ~10 MB: more than a socket pair's buffers hold
    transport.write(big)
    transport.write(b"after")
    assert transport in reactor.getWriters()  # the rest waits for the reactor, as in Twisted
    received = bytearray()
    while len(received) < len(big) + 5:
        transport.doWrite()
        received += peer.recv(1 << 20)
    assert bytes(received) == big + b"after"
    assert transport not in reactor.getWriters()


def test_a_write_to_a_peer_that_went_away_loses_the_connection_the_usual_way(connection):
    transport, peer, reactor = connection
    peer.close()
    transport.write(b"to nobody")
    assert transport in reactor.getWriters()
    assert isinstance(transport.doWrite(), ConnectionLost)


class _PullProducer:
    def resumeProducing(self) -> None: ...

    def stopProducing(self) -> None: ...


def test_a_pull_producer_keeps_twisteds_buffered_write(connection):
    # Twisted asks a pull producer for more only when its buffer drains (doWrite), so its
    # writes must go through that buffer.
    transport, peer, reactor = connection
    transport.registerProducer(_PullProducer(), False)
    transport.write(b"chunk")
    assert transport in reactor.getWriters()
    transport.doWrite()
    assert _read(peer, 5) == b"chunk"


def test_a_closing_connection_keeps_twisteds_buffered_write(connection):
    transport, _peer, reactor = connection
    transport.disconnecting = True
    transport.write(b"last words")
    assert transport in reactor.getWriters()
