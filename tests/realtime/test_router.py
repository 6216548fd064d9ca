"""realtime.router.TopicRouter.fan_out: every local socket gets the event, in the order they
joined, and the event loop serves others (REST requests) between batches of sockets."""

import asyncio
from typing import Any

from realtime.router import FAN_OUT_BATCH, TopicRouter

TOPIC = "doctor.1.availability"


class Recorder:
    def __init__(self, name: int, log: list[Any]) -> None:
        self.name, self.log = name, log

    async def live(self, message: dict[str, Any]) -> None:
        self.log.append(self.name)


class Broken:
    async def live(self, message: dict[str, Any]) -> None:
        raise ConnectionError("closed under us")


def _router(subscribers: list[Any]) -> TopicRouter:
    router = TopicRouter.__new__(TopicRouter)  # no channel layer: fan_out only
    router.members = {TOPIC: dict.fromkeys(subscribers)}
    return router


async def test_every_socket_gets_the_event_in_join_order_despite_a_broken_one():
    log: list[Any] = []
    sockets = [Recorder(n, log) for n in range(10)]
    router = _router([*sockets[:5], Broken(), *sockets[5:]])
    await router.fan_out({"event": {"topic": TOPIC, "id": 1}, "sent_at": None})
    assert log == list(range(10))


async def test_the_loop_serves_others_between_batches():
    log: list[Any] = []
    count = 3 * FAN_OUT_BATCH
    router = _router([Recorder(n, log) for n in range(count)])

    async def other_work() -> None:  # a REST request's turn on the loop, say
        log.append("other")

    other = asyncio.ensure_future(other_work())
    await router.fan_out({"event": {"topic": TOPIC, "id": 1}, "sent_at": None})
    await other
    at = log.index("other")
    assert 0 < at < count, "the other task ran only after the last socket"
    assert [entry for entry in log if entry != "other"] == list(range(count))
