"""What the current unit of work is: a request id, the user and the route, for every log line.

Set by the request middleware (web), by the Celery signal handlers (worker: the id of the
request that queued the task) and read by the log filter. A context variable, so it is
right under ASGI (one task per request), in threads (asgiref copies it) and in eager tasks.
"""

import re
import uuid
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace
from typing import Any

# What we accept from a client's X-Request-ID: anything else is replaced by our own id,
# so a log line can never be forged or blown up through the header.
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@dataclass(frozen=True)
class LogContext:
    request_id: str | None = None
    user_id: int | None = None
    route: str | None = None
    task: str | None = None


_NONE = LogContext()
_current: ContextVar[LogContext] = ContextVar("observability_log_context", default=_NONE)


def current() -> LogContext:
    return _current.get()


def request_id_from(header: str | None) -> str:
    """The client's X-Request-ID when it is a sane token, else a fresh random id."""
    if header and _ACCEPTED_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def start(**values: object) -> Token:
    """A new context for a request or a task; hand the token back to `end`."""
    return _current.set(LogContext(**values))  # type: ignore[arg-type]


def end(token: Token) -> None:
    _current.reset(token)


def bind(**values: Any) -> None:
    """Add to the current context (the user once authenticated, the route once resolved)."""
    _current.set(replace(_current.get(), **values))
