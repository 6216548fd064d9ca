"""Who is asking, from where: set per request by the middleware, read by `audit_record`.

A context variable, so it is right under ASGI (one task per request) and in threads.
"""

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    user_agent: str = ""


_NO_REQUEST = RequestContext()
_current: ContextVar[RequestContext] = ContextVar("audit_request_context", default=_NO_REQUEST)


def current() -> RequestContext:
    return _current.get()


def set_current(context: RequestContext) -> object:
    return _current.set(context)


def reset(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
