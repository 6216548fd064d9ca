"""The websocket's database work: off Channels' one database thread, and gathered.

`in_pool` runs a sync function on this process's database threads, on a pooled
connection given back after each call. `Gathered` is a read many sockets make (who a
token is, whether a topic may be joined): the calls of sockets arriving together go to
the database in one trip.
"""

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, Generic, TypeVar

from django.db import connections

T = TypeVar("T")
K = TypeVar("K")
R = TypeVar("R")


# The sockets' database work runs in these threads, on connections from the process's
# pool, rather than on Channels' one database thread: with thousands of sockets
# (re)connecting at once, that one thread was the queue (docs/benchmarks.md).
_DATABASE_THREADS = ThreadPoolExecutor(max_workers=8, thread_name_prefix="ws-db")


def _closing(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return function(*args, **kwargs)
    finally:
        # Back to the pool (or closed, without one) after every call, as Channels'
        # database_sync_to_async does after each of its calls.
        connections.close_all()


def in_pool(function: Callable[..., T]) -> Callable[..., Awaitable[T]]:
    async def call(*args: Any, **kwargs: Any) -> T:
        # run_in_executor does not copy this task's context into the thread, so Django's
        # connection belongs to the thread, never to a socket.
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_DATABASE_THREADS, partial(_closing, function, *args, **kwargs))

    return call


class Gathered(Generic[K, R]):
    """A read many sockets make, gathered: the calls that arrive while its trips to the
    database threads are under way go together in the next trip (one pooled connection,
    its check, one query per kind of row) instead of a trip each. A call that finds a trip
    free goes at once, alone.

    In a reconnect storm thousands of sockets authenticate and subscribe within seconds: a
    trip per socket had each wait for a connection, its check and its own queries
    (docs/benchmarks.md). `many` answers its keys in order.
    """

    # Trips of one read under way at once (the database threads are eight, for every read).
    TRIPS = 2
    # Calls in one trip at most (a token hash or a topic each, in one statement).
    MOST = 200

    def __init__(self, many: Callable[[list[K]], list[R]]) -> None:
        self.many = in_pool(many)
        self.by_loop: dict[asyncio.AbstractEventLoop, _Waiting[K, R]] = {}

    async def __call__(self, key: K) -> R:
        loop = asyncio.get_running_loop()
        if loop not in self.by_loop:
            for stale in [other for other in self.by_loop if other.is_closed()]:
                del self.by_loop[stale]
        waiting = self.by_loop.setdefault(loop, _Waiting())
        answer: asyncio.Future[R] = loop.create_future()
        waiting.calls.append((key, answer))
        if waiting.trips < self.TRIPS:
            self._go(waiting)
        return await answer

    def _go(self, waiting: "_Waiting[K, R]") -> None:
        calls, waiting.calls = waiting.calls[: self.MOST], waiting.calls[self.MOST :]
        waiting.trips += 1
        trip = asyncio.ensure_future(self._trip(waiting, calls))
        waiting.under_way.add(trip)
        trip.add_done_callback(waiting.under_way.discard)

    async def _trip(self, waiting: "_Waiting[K, R]", calls: list[tuple[K, asyncio.Future[R]]]) -> None:
        try:
            results = await self.many([key for key, _ in calls])
        except asyncio.CancelledError:
            for _, answer in calls:
                answer.cancel()
            raise
        except Exception as error:
            # Each caller sees the failure as its own call would have (a database outage).
            for _, answer in calls:
                if not answer.done():
                    answer.set_exception(error)
        else:
            for (_, answer), result in zip(calls, results, strict=True):
                if not answer.done():  # its socket went away meanwhile
                    answer.set_result(result)
        finally:
            waiting.trips -= 1
            if waiting.calls:
                self._go(waiting)


class _Waiting(Generic[K, R]):
    """A gathered read's calls not yet on their way, and its trips under way, in one event loop."""

    def __init__(self) -> None:
        self.calls: list[tuple[K, asyncio.Future[R]]] = []
        self.trips = 0
        self.under_way: set[asyncio.Future[None]] = set()
