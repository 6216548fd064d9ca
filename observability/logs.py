"""Log records that carry the request id, the user and the route, as text or as JSON.

`LOG_FORMAT=plain` (the default, for people at `make run`) writes one readable line;
`LOG_FORMAT=json` writes one JSON object per line for a log pipeline. Both get the same
fields from the current context (observability.context) through `ContextFilter`, which
sits on the handler so it applies to every logger.
"""

import logging
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

from observability import context

_CONTEXT_FIELDS = ("request_id", "user_id", "route", "task")


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        current = context.current()
        for field in _CONTEXT_FIELDS:
            if not hasattr(record, field):
                setattr(record, field, getattr(current, field))
        return True


class PlainFormatter(logging.Formatter):
    """`time LEVEL logger message`, then `[request_id user=N]` when there is a request."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None)
        if request_id is None:
            return line
        user_id = getattr(record, "user_id", None)
        return f"{line} [{request_id}{f' user={user_id}' if user_id is not None else ''}]"


class JsonFormatter(_JsonFormatter):
    """One object per line: time, level, logger, message, the context fields and any `extra`.

    Context fields that are empty (no request) are left out rather than written as null.
    """

    def add_fields(self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]) -> None:
        super().add_fields(log_data, record, message_dict)
        for field in _CONTEXT_FIELDS:
            if log_data.get(field) is None:
                log_data.pop(field, None)
