"""Real threads released together: how the concurrency tests race the database."""

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def run_together(count: int, work: Callable[[int], Any], *, timeout: float = 120) -> list[Any]:
    """Run `work(0)` … `work(count - 1)` in `count` threads released at the same instant.

    Returns each call's result in order, or the exception it raised. Every thread opens
    its own database connection and closes it, so the race happens in PostgreSQL.
    """
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            results[index] = work(index)
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung"
    return results
