"""Django's PostgreSQL backend, its connection pool checking each connection it hands out
(and a bulk insert of a few rows written as VALUES: core/postgresql/compiler.py).

A pooled connection outlives a PostgreSQL restart as a dead socket. psycopg's own check
(what Django passes with CONN_HEALTH_CHECKS) finds them one checkout at a time, and the
pool waits a growing backoff (1 s, 2 s, 4 s, ...) after each failed one: a request after a
restart could spend the whole pool timeout walking through dead connections and be
answered 503 with the database back (tests/faults). A restart kills every connection the
pool holds, so on the first dead one `pool_check` checks them all at once. Django 5.2
builds the pool itself with a `check` of its own, so another cannot come through
OPTIONS["pool"]: this backend builds it as Django does, with ours, and with a pool that
refuses at once while PostgreSQL is unreachable instead of making every request wait the
pool timeout (core/postgresql/pool.py).
"""

import logging
from collections.abc import Callable
from typing import Any, ClassVar

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.backends.base.base import NO_DB_ALIAS
from django.db.backends.postgresql import base, operations

from core.postgresql.pool import ConnectionPool

logger = logging.getLogger(__name__)


def pool_check(conn: psycopg.Connection) -> None:
    """Raise if `conn`, about to be handed out, is dead (the pool then replaces it); on a
    dead one, check every idle connection of the pool too (each dead one fails at once)."""
    try:
        ConnectionPool.check_connection(conn)
    except psycopg.Error:
        logger.warning("a pooled database connection was dead; checking the others")
        wrapper = connections["default"]
        if isinstance(wrapper, DatabaseWrapper) and wrapper.pool is not None:
            wrapper.pool.check()
        raise


class DatabaseOperations(operations.DatabaseOperations):
    # A bulk insert of a few rows as VALUES, not UNNEST (core/postgresql/compiler.py).
    compiler_module = "core.postgresql.compiler"


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    # Django's own (django-stubs does not declare them).
    _connection_pools: ClassVar[dict[str, ConnectionPool]]
    _configure_connection: Callable[[psycopg.Connection], None]

    @property
    def pool(self) -> ConnectionPool | None:
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == NO_DB_ALIAS or not pool_options:
            return None
        if self.alias not in self._connection_pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            options: dict[str, Any] = {} if pool_options is True else pool_options
            pool = ConnectionPool(
                # Autocommit, as in Django's pool: Django sets the real mode at each checkout.
                kwargs={**self.get_connection_params(), "autocommit": True},
                open=False,
                configure=self._configure_connection,
                check=pool_check,
                **options,
            )
            # As in Django: threads racing at start-up may each build one; the first is kept.
            self._connection_pools.setdefault(self.alias, pool)
        return self._connection_pools[self.alias]
