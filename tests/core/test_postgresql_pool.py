"""The pool refuses at once while PostgreSQL is unreachable (core/postgresql/pool.py), and
serves again once it is back. The whole stack with a real PostgreSQL stopped and started:
tests/faults/test_faults.py."""

from collections.abc import Iterator
from time import monotonic, sleep

import psycopg
import pytest
from django.db import connection
from psycopg_pool import PoolTimeout

from core.postgresql.pool import ConnectionPool, DatabaseUnreachable
from tests.servers import free_port

# Far longer than the test takes: a request that waited for the pool would show.
POOL_TIMEOUT = 120.0
PROBE_INTERVAL = 1.0


@pytest.fixture
def pool(db: None) -> Iterator[ConnectionPool]:
    """A pool of the test database's server, on a port where nothing listens."""
    params = {k: v for k, v in connection.get_connection_params().items() if k not in ("cursor_factory", "context")}
    pool = ConnectionPool(
        kwargs={**params, "port": free_port(), "autocommit": True},
        min_size=0,
        max_size=2,
        timeout=POOL_TIMEOUT,
        probe_interval=PROBE_INTERVAL,
        open=True,
    )
    try:
        yield pool
    finally:
        pool.close()


def _database_back(pool: ConnectionPool) -> None:
    assert isinstance(pool.kwargs, dict)
    pool.kwargs["port"] = connection.get_connection_params().get("port") or 5432


def _refused(pool: ConnectionPool) -> type[Exception]:
    started = monotonic()
    with pytest.raises(psycopg.OperationalError) as refused:
        pool.getconn()
    assert monotonic() - started < POOL_TIMEOUT / 4
    return type(refused.value)


def _wait_for_probe(pool: ConnectionPool) -> None:
    # The next probe is due one interval after the last; until then, refused at once.
    deadline = monotonic() + 10 * PROBE_INTERVAL
    while _refused(pool) is DatabaseUnreachable:
        assert monotonic() < deadline, "no probe let through"
        sleep(PROBE_INTERVAL / 20)


def test_unreachable_refused_at_once_then_served_when_back(pool: ConnectionPool) -> None:
    # The first request waits one probe interval (the pool's connection attempt fails
    # meanwhile), not the pool timeout.
    assert _refused(pool) is PoolTimeout
    assert pool.breaker.down
    # Within the next interval, every request is refused without waiting at all...
    next_probe = monotonic() + PROBE_INTERVAL
    refused = []
    while monotonic() < next_probe - PROBE_INTERVAL / 4:
        refused.append(_refused(pool))
        sleep(PROBE_INTERVAL / 20)
    assert refused and set(refused) == {DatabaseUnreachable}
    # ...then one is let through as a probe (which waits at most the interval).
    _wait_for_probe(pool)

    _database_back(pool)
    deadline = monotonic() + 10 * PROBE_INTERVAL
    while True:
        try:
            served = pool.getconn()
            break
        except psycopg.OperationalError:  # refused, or a probe that came too early
            assert monotonic() < deadline, "not served again"
            sleep(PROBE_INTERVAL / 20)
    assert served.execute("SELECT 1").fetchone() == (1,)
    pool.putconn(served)
    assert not pool.breaker.down
    with pool.connection() as again:
        assert again.execute("SELECT 2").fetchone() == (2,)


def test_a_pool_that_is_only_busy_waits_its_whole_timeout(pool: ConnectionPool) -> None:
    _database_back(pool)
    held = [pool.getconn(), pool.getconn()]  # max_size: the next request must wait
    started = monotonic()
    with pytest.raises(PoolTimeout):
        pool.getconn(timeout=2 * PROBE_INTERVAL)
    # Past the first probe-interval wait: the database is reachable, so the rest is waited.
    assert monotonic() - started >= 2 * PROBE_INTERVAL
    assert not pool.breaker.down
    for busy in held:
        pool.putconn(busy)
