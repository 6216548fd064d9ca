"""One channel-layer subscription per topic per process, shared by all of its sockets.

Channels gives every socket a channel of its own: an event for a topic watched by 2,000
sockets of one process was put into 2,000 queues, decoded 2,000 times and woke 2,000
tasks (docs/benchmarks.md, "Realtime at the floor"). Here each process (each event loop)
has one router: one channel on the layer, added to a topic's group when the first local
socket subscribes to the topic and discarded when the last leaves. An event arrives once,
is decoded once, and its frame (encoded once, at publish) is handed to each local socket
in turn, as the floor does.

The router knows nothing of delivery order or gaps: each socket decides what to do with
an event (`RealtimeConsumer.live`).
"""

import asyncio
import logging
import time
from typing import Any, ClassVar, Protocol

from channels.layers import get_channel_layer

from observability import metrics
from realtime import topics

logger = logging.getLogger(__name__)

# RedisChannelLayer forgets a group member after its group_expiry (a day by default): the
# router renews its membership of a topic it keeps for longer than this.
RENEW_GROUP_SECONDS = 3600.0
# Sockets handed an event between two turns of the event loop to everything else it serves:
# ~1 ms of frames (config.serving writes each at once, ~20 us). A REST request in the same
# process waits for the loop at least twice (its arrival, its answer): with 250 its latency
# beside a busy topic was 1.9-2.8x its latency alone, with 50 1.4-1.5x, the fan-out as fast
# (docs/benchmarks.md, "Session 10").
FAN_OUT_BATCH = 50


class Subscriber(Protocol):
    async def live(self, message: dict[str, Any]) -> None: ...


class TopicRouter:
    _by_loop: ClassVar[dict[asyncio.AbstractEventLoop, "TopicRouter"]] = {}

    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.channel: str | None = None
        # topic -> the local sockets on it (a dict keeps the order in which they joined).
        self.members: dict[str, dict[Subscriber, None]] = {}
        self.joined_at: dict[str, float] = {}
        self.task: asyncio.Task | None = None
        # Joins and leaves change group membership on the layer one at a time, so a topic's
        # last leave and a new first join cannot reach the layer in the wrong order.
        self.lock = asyncio.Lock()

    @classmethod
    def current(cls) -> "TopicRouter":
        loop = asyncio.get_running_loop()
        for stale in [other for other in cls._by_loop if other.is_closed()]:
            del cls._by_loop[stale]
        return cls._by_loop.setdefault(loop, cls())

    async def join(self, topic: str, subscriber: Subscriber) -> None:
        """Deliver `topic`'s events to `subscriber` from now on. Raises if the layer is down."""
        async with self.lock:
            if self.channel is None:
                self.channel = await self.layer.new_channel()
            renew = time.monotonic() - self.joined_at.get(topic, float("-inf")) > RENEW_GROUP_SECONDS
            if topic not in self.members or renew:
                await self.layer.group_add(topics.group_name(topic), self.channel)
                self.joined_at[topic] = time.monotonic()
            self.members.setdefault(topic, {})[subscriber] = None
            if self.task is None or self.task.done():
                self.task = asyncio.ensure_future(self.run())

    async def leave(self, topic: str, subscriber: Subscriber) -> None:
        async with self.lock:
            members = self.members.get(topic)
            if members is None or subscriber not in members:
                return
            del members[subscriber]
            if members:
                return
            del self.members[topic]
            self.joined_at.pop(topic, None)
            try:
                await self.layer.group_discard(topics.group_name(topic), self.channel)
            except Exception:
                # Events for a topic nobody here watches are dropped on arrival.
                logger.warning("channel layer unavailable; could not leave %s", topic, exc_info=True)
            if not self.members and self.task is not None:
                # Nothing left to watch: stop receiving (a new join starts again).
                self.task.cancel()
                self.task = None
                self.channel = None

    async def run(self) -> None:
        channel = self.channel
        while True:
            try:
                message = await self.layer.receive(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Redis went away: events meanwhile are in the outbox; sockets read the gap
                # (prev_id) when the next event arrives, or resume by id.
                logger.warning("channel layer receive failed; retrying", exc_info=True)
                await asyncio.sleep(1)
                continue
            if message.get("type") != "topic.event":
                continue
            await self.fan_out(message)

    async def fan_out(self, message: dict[str, Any]) -> None:
        members = list(self.members.get(message["event"]["topic"], ()))
        for index, subscriber in enumerate(members, start=1):
            try:
                await subscriber.live(message)
            except Exception:
                # One socket's failure (closed under us) must not cost the others the event.
                logger.warning("live event to a socket failed", exc_info=True)
            if index % FAN_OUT_BATCH == 0:
                # Handing a frame to a socket does not wait, so without this the loop would
                # serve no REST request until the last socket has it (docs/benchmarks.md).
                await asyncio.sleep(0)
        if members:
            # Once per event and process: from the hand-over to the layer to the last local socket.
            metrics.event_delivered(message.get("sent_at"))
