"""The HTTP access log: one line per request, with credentials in query strings redacted.

daphne's own access log (`-v 1`, its default) writes every request URI as it came, and
some URIs carry a credential in the query string: the reception display's
`/display/?token=...`, a report's signed `?sig=...` link. This ASGI middleware logs each
request once through `logging` (logger `clinic.access`, INFO) with those values replaced,
so `make run`, the Docker image and the compose file start daphne with `-v 0`.
"""

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, quote

logger = logging.getLogger("clinic.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECRET_PARAMETERS = frozenset({"token", "sig", "signature", "access_token", "id_token", "key", "password"})


def redacted_query(query_string: bytes) -> str:
    """`token=dsp_abc&doctor=3` → `token=***&doctor=3`: the names stay, secret values go."""
    if not query_string:
        return ""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return "&".join(
        f"{quote(name)}={'***' if name.lower() in SECRET_PARAMETERS else quote(value)}" for name, value in pairs
    )


class AccessLogMiddleware:
    """Wraps the HTTP application; websocket connections are not logged here (their
    tokens travel in messages, and the consumer logs what matters)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = [0]
        size = [0]

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            elif message["type"] == "http.response.body":
                size[0] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            query = redacted_query(scope.get("query_string", b""))
            client = scope.get("client") or ("-", 0)
            logger.info(
                '%s "%s %s%s" %s %s %.0fms',
                client[0],
                scope.get("method", "-"),
                scope.get("path", ""),
                f"?{query}" if query else "",
                status[0] or "-",
                size[0],
                (time.monotonic() - started) * 1000,
            )
