"""The connection pool, refusing at once while PostgreSQL is unreachable.

psycopg_pool has no way to fail fast: while the server is down its workers retry with a
growing backoff (for up to `reconnect_timeout`) and every request waits in line for the
whole pool timeout (DB_POOL_TIMEOUT_SECONDS, 30 s) before it is answered 503, holding one
of the web process's threads all that time. A small circuit breaker goes around it:

- The first connection attempt that fails (a worker replacing a dead connection, the pool
  growing) marks the database unreachable. From then on a request that would have to wait
  for a new connection is refused at once with `DatabaseUnreachable` (an OperationalError:
  the contract's 503 with Retry-After, core/errors.py).
- Every `probe_interval` seconds one request is let through as the probe: it waits at most
  that long, while the pool (growing for it) tries to connect. The first connection made,
  or handed out (each is checked first), marks the database reachable again.
- A request already in line when the database went waits only `probe_interval` before it
  looks again, and the pool's own retries stop after `probe_interval` (its
  `reconnect_timeout`): a pool sleeping through a long backoff cannot keep requests waiting
  once the database is back.
"""

import logging
import threading
from collections.abc import Callable
from time import monotonic
from typing import Any, Self

import psycopg
import psycopg_pool

logger = logging.getLogger(__name__)


class DatabaseUnreachable(psycopg.OperationalError):
    """Refused without waiting for the pool: PostgreSQL could not be connected to."""


class Breaker:
    """Whether PostgreSQL is reachable, as the last connection attempt found (one per pool)."""

    def __init__(self, probe_interval: float) -> None:
        self.probe_interval = probe_interval
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._next_probe = 0.0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, error: Exception) -> None:
        """A connection attempt failed."""
        with self._lock:
            if self._down_since is None:
                self._down_since = monotonic()
                self._next_probe = self._down_since + self.probe_interval
                logger.error("PostgreSQL unreachable (%s): refusing requests until a connection is made", error)

    def reachable(self) -> None:
        """A connection was made, or a checked one handed out."""
        if self._down_since is None:
            return
        with self._lock:
            if self._down_since is not None:
                logger.warning("PostgreSQL reachable again after %.1f s", monotonic() - self._down_since)
                self._down_since = None

    def waited_in_vain(self) -> None:
        """A request waited a probe interval without a connection: as good as a probe, so
        the next one is an interval away."""
        with self._lock:
            self._next_probe = max(self._next_probe, monotonic() + self.probe_interval)

    def admit(self, connection_ready: Callable[[], bool]) -> None:
        """Return if the caller may ask the pool; raise DatabaseUnreachable if it would wait
        for a connection that cannot be made."""
        if self._down_since is None or connection_ready():
            return
        with self._lock:
            now = monotonic()
            if self._down_since is None:
                return
            if now >= self._next_probe:
                self._next_probe = now + self.probe_interval
                return
            down_for = now - self._down_since
        raise DatabaseUnreachable(f"PostgreSQL unreachable for {down_for:.1f} s; not waiting for a connection")


def _connection_class(breaker: Breaker) -> type[psycopg.Connection[Any]]:
    class Connection(psycopg.Connection[Any]):
        """psycopg's connection; every attempt the pool makes to open one tells `breaker`."""

        @classmethod
        def connect(cls, conninfo: str = "", **kwargs: Any) -> Self:
            try:
                conn = super().connect(conninfo, **kwargs)
            except psycopg.OperationalError as error:
                breaker.failed(error)
                raise
            breaker.reachable()
            return conn

    return Connection


class ConnectionPool(psycopg_pool.ConnectionPool[psycopg.Connection[Any]]):
    """psycopg_pool's pool with a `Breaker` (module docstring)."""

    def __init__(self, *, probe_interval: float = 1.0, **options: Any) -> None:
        self.breaker = Breaker(probe_interval)
        super().__init__(connection_class=_connection_class(self.breaker), reconnect_timeout=probe_interval, **options)

    def getconn(self, timeout: float | None = None) -> psycopg.Connection[Any]:
        timeout = self.timeout if timeout is None else timeout
        self.breaker.admit(lambda: self.get_stats()["pool_available"] > 0)
        deadline = monotonic() + timeout
        try:
            connection = super().getconn(min(timeout, self.breaker.probe_interval))
        except psycopg_pool.PoolTimeout:
            if self.breaker.down:
                self.breaker.waited_in_vain()
                raise
            if monotonic() >= deadline:
                raise
            connection = None
        if connection is None:
            # Reachable, only busy: the rest of the timeout, at the back of the line.
            connection = super().getconn(deadline - monotonic())
        self.breaker.reachable()
        return connection
