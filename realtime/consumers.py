"""The one websocket consumer: contract §9, on `/ws/`.

Protocol (JSON text frames):

- The first message authenticates: `{"action": "auth", "token": ...}` with an API token or
  a display token. No auth within WS_AUTH_TIMEOUT_SECONDS closes with 4000; a bad token
  closes with 4001, and so does a token that later expires (at its expiry) or is revoked
  (all of a process's sockets are rechecked together every WS_TOKEN_RECHECK_SECONDS).
- `subscribe` (optionally resuming after `last_event_id`), `unsubscribe`, `ping`.
- Input the protocol does not allow gets `{"type": "error", "code": ...}` and the socket
  stays open: `bad_json`, `bad_message`, `message_too_large`, `unknown_action`,
  `not_authenticated`, `already_authenticated`, `too_many_subscriptions`, `forbidden`,
  `unknown_topic`, `unavailable` (channel layer down: retry).

Delivery: events reach a socket through its process's TopicRouter (realtime/router.py),
not through a channel of its own. Per topic the consumer remembers the id of the last
event it delivered. A live event at or below it is a duplicate (relay re-sends, the replay
seam) and is dropped; a live event whose predecessor on the topic (`prev_id`) is newer than
it means events went missing on the way (a failed send, Redis briefly down) and the gap is
read from the outbox. While a subscribe or such a gap read is under way, live events wait
in the socket's mailbox and are then delivered in arrival order. So each subscriber sees
every event of a topic once, in id order.

Database work (token, subscribe decision, latest id, replay) runs on eight threads of its
own on pooled connections, not on Channels' one database thread: with thousands of sockets
(re)connecting at once, that thread was the queue. The token and subscribe reads of sockets
arriving together go in one trip (`Gathered`, realtime/gathering.py).
"""

import asyncio
import json
import logging
from typing import Any, ClassVar

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.utils import timezone

from observability import context as log_context
from observability import metrics
from realtime import selectors
from realtime.gathering import Gathered, in_pool
from realtime.router import TopicRouter

logger = logging.getLogger(__name__)

CLOSE_AUTH_TIMEOUT = 4000
CLOSE_BAD_TOKEN = 4001


_principal_for_token: Gathered[object, selectors.Principal | None] = Gathered(selectors.principals_for_tokens)
_subscribe_start: Gathered[tuple[selectors.Principal, object, bool], tuple[str, int]] = Gathered(
    selectors.subscribe_starts
)
_replay_after = in_pool(selectors.replay_after)
_events_between = in_pool(selectors.events_between)
_dead_principals = in_pool(selectors.dead_principals)


class TokenWatch:
    """Rechecks the tokens of every open socket of this process in one query, every
    WS_TOKEN_RECHECK_SECONDS, and closes (4001) the sockets whose token was revoked.

    One loop per process (per event loop) rather than one per socket: with thousands of
    sockets a per-socket poll would be thousands of queries a minute.
    """

    _by_loop: ClassVar[dict[asyncio.AbstractEventLoop, "TokenWatch"]] = {}

    def __init__(self) -> None:
        self.sockets: dict[RealtimeConsumer, selectors.Principal] = {}
        self.task: asyncio.Task | None = None

    @classmethod
    def current(cls) -> "TokenWatch":
        loop = asyncio.get_running_loop()
        for stale in [other for other in cls._by_loop if other.is_closed()]:
            del cls._by_loop[stale]
        return cls._by_loop.setdefault(loop, cls())

    def add(self, consumer: "RealtimeConsumer", principal: selectors.Principal) -> None:
        self.sockets[consumer] = principal
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self.run())

    def discard(self, consumer: "RealtimeConsumer") -> None:
        self.sockets.pop(consumer, None)

    async def run(self) -> None:
        while self.sockets:
            await asyncio.sleep(settings.WS_TOKEN_RECHECK_SECONDS)
            watched = list(self.sockets.items())
            if not watched:
                break
            try:
                dead = await _dead_principals([principal for _, principal in watched])
            except Exception:
                # A database hiccup must not end the watch; the next round retries.
                logger.warning("websocket token recheck failed", exc_info=True)
                continue
            for consumer, principal in watched:
                if principal in dead:
                    logger.info("websocket token of %s no longer live; closing", consumer.client_address())
                    await consumer.close_with(CLOSE_BAD_TOKEN)


class RealtimeConsumer(AsyncJsonWebsocketConsumer):
    # No channel per socket: this alias names no layer, so Channels makes none, and the
    # process's TopicRouter hands events to `live`.
    channel_layer_alias = "realtime-sockets-use-the-topic-router"

    async def connect(self) -> None:
        self.principal: selectors.Principal | None = None
        # topic -> id of the last event delivered on it (or known to be older than the subscription).
        self.subscriptions: dict[str, int] = {}
        self.closing = False
        # Live events wait here, in arrival order, while `ordered` is held (a subscribe or a
        # gap read under way); `drainer` delivers them once it is free.
        self.ordered = asyncio.Lock()
        self.mailbox: list[dict[str, Any]] = []
        self.drainer: asyncio.Task | None = None
        self.router = TopicRouter.current()
        self.opened = False
        # One id per socket for its log lines (this connection runs in its own task).
        log_context.start(request_id=log_context.request_id_from(None), route="/ws/")
        await self.accept()
        self.opened = True
        metrics.websocket_opened()
        self.watcher: asyncio.Task | asyncio.Handle = asyncio.ensure_future(self._close_unless_authenticated())

    async def disconnect(self, code: int) -> None:
        self.closing = True
        self.watcher.cancel()
        TokenWatch.current().discard(self)
        self.mailbox.clear()
        for topic in list(self.subscriptions):
            await self.router.leave(topic, self)
            metrics.subscription_removed(topic)
        self.subscriptions.clear()
        if self.opened:
            self.opened = False
            metrics.websocket_closed()

    async def close_with(self, code: int) -> None:
        if not self.closing:
            self.closing = True
            await self.close(code=code)

    # --- incoming frames ---------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.closing:
            return
        if text_data is None:
            await self.error("bad_message", "Send JSON text frames.")
            return
        if len(text_data.encode()) > settings.WS_MAX_MESSAGE_BYTES:
            await self.error("message_too_large", f"Messages are at most {settings.WS_MAX_MESSAGE_BYTES} bytes.")
            return
        try:
            content = json.loads(text_data)
        except ValueError:
            await self.error("bad_json", "Not valid JSON.")
            return
        if not isinstance(content, dict):
            await self.error("bad_message", "Send a JSON object with an action.")
            return
        await self.receive_json(content)

    async def receive_json(self, content: dict[str, Any], **kwargs: Any) -> None:
        action = content.get("action")
        handlers = {
            "auth": self.action_auth,
            "subscribe": self.action_subscribe,
            "unsubscribe": self.action_unsubscribe,
            "ping": self.action_ping,
        }
        handler = handlers.get(action) if isinstance(action, str) else None
        if handler is None:
            await self.error("unknown_action", "Actions: auth, subscribe, unsubscribe, ping.")
        elif self.principal is None and action not in ("auth", "ping"):
            await self.error("not_authenticated", "Authenticate first.")
        else:
            await handler(content)

    async def action_ping(self, content: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})

    async def action_auth(self, content: dict[str, Any]) -> None:
        if self.principal is not None:
            await self.error("already_authenticated", "This socket is already authenticated.")
            return
        principal = await _principal_for_token(content.get("token"))
        if principal is None:
            # The token itself is never logged.
            logger.info("websocket auth refused from %s", self.client_address())
            await self.close_with(CLOSE_BAD_TOKEN)
            return
        self.principal = principal
        log_context.bind(user_id=principal.user_id)
        self.watcher.cancel()
        self.watcher = self._close_at_expiry()
        TokenWatch.current().add(self, principal)
        answer: dict[str, Any] = {"type": "authenticated", "user": principal.user_id}
        if principal.is_display:
            answer["display"] = principal.display_token_id
        await self.send_json(answer)

    async def action_subscribe(self, content: dict[str, Any]) -> None:
        # Any until `_subscribe_start` has checked it is a topic this principal may join.
        topic: Any = content.get("topic")
        echoed = topic if isinstance(topic, str) and len(topic) <= 100 else None
        last_event_id = content.get("last_event_id")
        if last_event_id is not None and (
            isinstance(last_event_id, bool) or not isinstance(last_event_id, int) or last_event_id < 0
        ):
            await self.error("bad_message", "last_event_id is a non-negative integer.", topic=echoed)
            return
        # The decision and, for a fresh subscription, the newest id on the topic, in one
        # trip to the database. Read before joining: an event committed in between reaches
        # us as a gap (its successor's prev_id) rather than being mistaken for history.
        assert self.principal is not None  # receive_json lets only an authenticated socket subscribe
        decision, latest = await _subscribe_start((self.principal, topic, last_event_id is not None))
        if decision != selectors.ALLOWED:
            await self.error(decision, None, topic=echoed)
            return
        if topic not in self.subscriptions and len(self.subscriptions) >= settings.WS_MAX_SUBSCRIPTIONS:
            await self.error(
                "too_many_subscriptions", f"At most {settings.WS_MAX_SUBSCRIPTIONS} topics per socket.", topic=topic
            )
            return
        if topic in self.subscriptions and last_event_id is None:
            await self.send_json({"type": "subscribed", "topic": topic})
            return
        # Live events arriving from the join on wait in the mailbox until the subscription
        # is recorded; then `live` drops those up to the last id replayed, so the seam has
        # no gap and no duplicate.
        async with self.ordered:
            try:
                await self.router.join(topic, self)
            except Exception:
                logger.warning("channel layer unavailable; subscribe to %s refused", topic, exc_info=True)
                await self.error("unavailable", "Live updates are unavailable; retry shortly.", topic=topic)
                return
            await self.send_json({"type": "subscribed", "topic": topic})
            start_after = latest
            if last_event_id is not None:
                replay = await _replay_after(topic, last_event_id)
                if replay.resync_required:
                    await self.send_json({"type": "resync_required", "topic": topic})
                for message in replay.events:
                    await self.send_json(message)
                start_after = replay.up_to
            if topic not in self.subscriptions:
                metrics.subscription_added(topic)
            self.subscriptions[topic] = max(self.subscriptions.get(topic, 0), start_after)
        self._drain_later()

    async def action_unsubscribe(self, content: dict[str, Any]) -> None:
        topic = content.get("topic")
        if isinstance(topic, str) and topic in self.subscriptions:
            del self.subscriptions[topic]
            metrics.subscription_removed(topic)
            await self.router.leave(topic, self)
        echoed = topic if isinstance(topic, str) and len(topic) <= 100 else None
        await self.send_json({"type": "unsubscribed", "topic": echoed})

    # --- events from the topic router ----------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels runs close_old_connections() before every handler: a hop to its one
        # database thread per client message, which queued a reconnect storm of thousands
        # of sockets behind it (docs/benchmarks.md). The database calls here close their
        # own connections (`in_pool`), so the hop buys nothing.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def live(self, message: dict[str, Any]) -> None:
        """A stored event from the router (sent by realtime.publish after commit, or by the relay)."""
        if self.closing:
            return
        if self.mailbox or self.ordered.locked():
            self.mailbox.append(message)
            self._drain_later()
            return
        event = message["event"]
        last = self.subscriptions.get(event["topic"])
        if last is None or event["id"] <= last:
            return
        prev_id = message.get("prev_id")
        if prev_id is not None and prev_id > last:
            # Something went missing on the way: read the gap without holding up the
            # router's other sockets.
            self.mailbox.append(message)
            self._drain_later()
            return
        self.subscriptions[event["topic"]] = event["id"]
        await self.send(text_data=message["text"])

    def _drain_later(self) -> None:
        if self.mailbox and (self.drainer is None or self.drainer.done()):
            self.drainer = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        async with self.ordered:
            while self.mailbox and not self.closing:
                await self._deliver(self.mailbox.pop(0))

    async def _deliver(self, message: dict[str, Any]) -> None:
        event = message["event"]
        topic = event["topic"]
        last = self.subscriptions.get(topic)
        if last is None or event["id"] <= last:
            return
        prev_id = message.get("prev_id")
        if prev_id is not None and prev_id > last:
            missed = await _events_between(topic, after=last, upto=event["id"])
            if not missed or missed[-1]["id"] != event["id"]:
                missed.append(event)
            for stored in missed:
                await self.send_json(stored)
        else:
            await self.send(text_data=message["text"])
        if topic in self.subscriptions:
            self.subscriptions[topic] = max(self.subscriptions[topic], event["id"])

    # --- helpers -----------------------------------------------------------------------

    async def error(self, code: str, detail: str | None, *, topic: str | None = None) -> None:
        message: dict[str, Any] = {"type": "error", "code": code}
        if topic is not None:
            message["topic"] = topic
        if detail:
            message["detail"] = detail
        await self.send_json(message)

    async def _close_unless_authenticated(self) -> None:
        await asyncio.sleep(settings.WS_AUTH_TIMEOUT_SECONDS)
        if self.principal is None:
            await self.close_with(CLOSE_AUTH_TIMEOUT)

    def _close_at_expiry(self) -> asyncio.Handle:
        """A timer, not a sleeping task: every open socket holds one until its token expires,
        and a timer is a fraction of a task's memory (docs/benchmarks.md, memory per socket)."""
        principal = self.principal
        loop = asyncio.get_running_loop()
        if principal is None or principal.expires_at is None:
            return loop.call_soon(lambda: None)
        # A hair past the expiry, so the database agrees it has passed.
        delay = max(0.0, (principal.expires_at - timezone.now()).total_seconds() + 0.01)

        def expired() -> None:
            self.watcher = asyncio.ensure_future(self._close_if_expired(principal))

        return loop.call_later(delay, expired)

    async def _close_if_expired(self, principal: selectors.Principal) -> None:
        if principal in await _dead_principals([principal]):
            logger.info("websocket token of %s expired; closing", self.client_address())
            await self.close_with(CLOSE_BAD_TOKEN)

    def client_address(self) -> str:
        client = self.scope.get("client") or ("?", 0)
        return f"{client[0]}:{client[1]}"
