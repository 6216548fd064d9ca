"""What daphne's Twisted needs tuned to serve this platform (applied by config.asgi).

Each tuning is applied only when Twisted is loaded, as it is under daphne, which imports
it before the application; another server (uvicorn, granian) has its own.
"""

import sys
from collections.abc import Callable
from typing import Any

# Connections the kernel queues for daphne to accept. Twisted's default is 50: a burst of
# 200 clients at once (everyone after the slot that opens at 8:00) overflowed it and the
# kernel dropped connections, which clients see as no answer at all. Daphne builds its
# listening endpoint after importing config.asgi, so `daphne config.asgi:application`
# (contract §10) gets this default; an explicit `-e tcp:...:backlog=N` still wins. The
# kernel caps it at net.core.somaxconn.
LISTEN_BACKLOG = 1024

# Twisted's own tcp.Connection.write, kept when _write_now replaces it.
_buffered_write: Callable[[Any, bytes], None]


def _write_now(self: Any, data: bytes) -> None:
    """Send `data` at once when nothing waits before it; buffer only what the socket refuses.

    Twisted buffers every write until the reactor's next turn (twisted/twisted#5303): each
    frame re-arms the socket in epoll, waits for the loop to say it is writable, sends, and
    disarms it again. In a fan-out, where every socket gets one small frame per event, that
    was 60 % of the sockets process's CPU per frame (py-spy, docs/benchmarks.md). Sending
    straight away is what asyncio's transports do.

    Order and back-pressure are Twisted's own: the fast path is taken only when the buffer
    is empty, and whatever the kernel does not take (a full send buffer, a send error) goes
    to Twisted's buffered write, whose next send reports a lost connection the usual way.
    TLS, closing connections and pull producers (which Twisted resumes only once its buffer
    drains) always take Twisted's path. It reads Twisted's buffer attributes, so Twisted is
    pinned (requirements.txt) and tests/core/test_serving.py drives it through a real
    connection.
    """
    if (
        type(data) is not bytes
        or self.TLS
        or not self.connected
        or self.disconnecting
        or self._writeDisconnected
        or self._tempDataBuffer
        or self.offset != len(self.dataBuffer)
        or (self.producer is not None and not self.streamingProducer)
    ):
        _buffered_write(self, data)
        return
    try:
        sent = self.socket.send(data)
    except OSError:  # would block, interrupted, or the peer went away: Twisted's path decides
        sent = 0
    if sent < len(data):
        _buffered_write(self, data[sent:])


def tune_twisted(*, backlog: int = LISTEN_BACKLOG) -> None:
    """Apply the tunings once Twisted is loaded (daphne); otherwise do nothing."""
    global _buffered_write
    if "twisted" not in sys.modules:
        return
    from twisted.internet import endpoints, tcp

    endpoints._parseTCP.__defaults__ = ("", backlog)  # (interface, backlog)
    if tcp.Connection.write is not _write_now:
        _buffered_write = tcp.Connection.write
        tcp.Connection.write = _write_now  # type: ignore[method-assign]
    _uncoloured_autobahn_logs()
    _raw_form_bodies()


def _raw_form_bodies() -> None:
    # Twisted parses the Content-Type of every POST with the email package, and a form or
    # multipart body into `request.args`, before daphne sees the request; daphne hands
    # Django the raw body, which Django parses itself when a view asks. Twisted's own
    # switch (`parsePOSTFormSubmission`) turns its parse off: 0.12 ms of CPU per POST
    # (0.97 → 0.85 ms for a refused booking POST, docs/benchmarks.md, "Session 11"), and an
    # upload is no longer parsed, and held, twice.
    from daphne.http_protocol import WebRequest

    if getattr(WebRequest.__init__, "raw_form_bodies", False):
        return
    parsing_init = WebRequest.__init__

    def __init__(self: WebRequest, *args: Any, **kwargs: Any) -> None:
        parsing_init(self, *args, parsePOSTFormSubmission=False, **kwargs)

    __init__.raw_form_bodies = True  # type: ignore[attr-defined]
    WebRequest.__init__ = __init__


def _uncoloured_autobahn_logs() -> None:
    # Autobahn (daphne's websocket protocol) builds the arguments of its debug log lines
    # before its logger drops them, and colours each with click when click is installed (it
    # is: Celery's command line). For every frame sent that was ~7 % of a sockets process's
    # fan-out CPU (py-spy, docs/benchmarks.md); uncoloured, the same lines cost an f-string.
    import autobahn.util

    autobahn.util._HAS_CLICK = False
