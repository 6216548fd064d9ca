"""The database connection pool of this process, as the `clinic_db_pool_connections` gauge.

Django keeps one psycopg pool per process when DATABASES' OPTIONS has "pool". Each process
reports its own (a `livesum` gauge, so /metrics adds up the live processes), refreshed by
the heartbeat thread and at every scrape.
"""

import logging
from typing import Any

from django.db import connections

from observability import metrics

logger = logging.getLogger(__name__)


def record(pool: Any) -> None:
    """Set the gauge from a psycopg_pool.ConnectionPool's statistics."""
    stats = pool.get_stats()
    size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
    metrics.db_pool(in_use=max(0, size - idle), idle=idle)


def refresh() -> None:
    wrapper = connections["default"]
    if not wrapper.settings_dict.get("OPTIONS", {}).get("pool"):
        return
    # Only a pool this process already opened: reading `wrapper.pool` would create one.
    pool = getattr(type(wrapper), "_connection_pools", {}).get(wrapper.alias)
    if pool is None:
        return
    try:
        record(pool)
    except Exception:
        logger.warning("could not read the database pool's statistics", exc_info=True)
