"""Each web, worker and beat process says it is alive, and in which state, every few seconds.

A heartbeat is a small Redis key per process that expires after three missed beats, so
"when did the beat last run" and "is any worker up" are one read for an operator
(`python manage.py health`), for `/metrics` and for the compose health checks. Without
Redis (the embedded default) there is one process and nothing to report.
"""

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger(__name__)

KINDS = ("web", "worker", "beat")
_PREFIX = "clinic:heartbeat:"


@dataclass(frozen=True)
class Heartbeat:
    kind: str
    process: str
    host: str
    state: str
    at: float


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _client():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def beat(kind: str, state: str) -> None:
    """Record that this process is alive in `state` (expires after three missed beats)."""
    record = {"kind": kind, "process": this_process(), "host": socket.gethostname(), "state": state, "at": time.time()}
    ttl = max(1, round(settings.HEARTBEAT_INTERVAL_SECONDS * 3))
    _client().set(f"{_PREFIX}{kind}:{record['process']}", json.dumps(record), ex=ttl)


def stop(kind: str) -> None:
    """A clean exit: the heartbeat goes at once instead of expiring."""
    try:
        _client().delete(f"{_PREFIX}{kind}:{this_process()}")
    except Exception:
        logger.warning("could not remove the %s heartbeat", kind, exc_info=True)


def read_all() -> list[Heartbeat]:
    client = _client()
    keys = sorted(client.scan_iter(match=f"{_PREFIX}*", count=500))
    beats = []
    for raw in client.mget(keys) if keys else []:
        if raw is not None:
            beats.append(Heartbeat(**json.loads(raw)))
    return beats


def start(kind: str, state: str) -> threading.Thread | None:
    """Beat from a daemon thread for the life of the process (nothing without Redis)."""
    if not settings.REDIS_URL:
        return None

    def run() -> None:
        from observability import pool

        while True:
            try:
                beat(kind, state)
            except Exception:
                # Redis being away is what /api/health/ready reports; keep trying.
                logger.warning("%s heartbeat failed", kind, exc_info=True)
            pool.refresh()
            time.sleep(settings.HEARTBEAT_INTERVAL_SECONDS)

    thread = threading.Thread(target=run, name=f"{kind}-heartbeat", daemon=True)
    thread.start()
    return thread
