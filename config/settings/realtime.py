"""Realtime: the channel layer carrying websocket fan-out, the event outbox and who relays
it, and the limits of one socket."""

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import env
from config.settings.database import IS_POSTGRES, REDIS_URL

# Which channels-redis layer carries websocket fan-out: "pubsub" (RedisPubSubChannelLayer,
# chosen by the numbers in docs/benchmarks.md "Websocket fan-out") or "core" (RedisChannelLayer).
# Pub/sub delivers at most once; the event outbox makes up for that (relay, replay, gap reads).
# Without Redis, an in-process layer (one process only).
REALTIME_CHANNEL_LAYER = env.str("REALTIME_CHANNEL_LAYER", default="pubsub")
# Redis pub/sub channels are server-wide, not per database: the prefix carries the db number
# so two deployments (or test runs) sharing one Redis on different dbs never hear each other.
CHANNEL_LAYER_PREFIX = f"clinic{urlsplit(REDIS_URL).path.strip('/') or '0'}"
CHANNEL_LAYERS: dict[str, dict[str, Any]] = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
if REDIS_URL:
    CHANNEL_LAYERS["default"] = {
        "BACKEND": {
            "core": "channels_redis.core.RedisChannelLayer",
            "pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer",
        }[REALTIME_CHANNEL_LAYER],
        "CONFIG": {"hosts": [REDIS_URL], "prefix": CHANNEL_LAYER_PREFIX},
    }
# How committed events reach the channel layer. "listen": the relay process
# (`manage.py relay_events`), woken by PostgreSQL NOTIFY at each commit, sends them, so the
# request that made the change only commits (docs/benchmarks.md). "inline": the process
# that committed sends them itself, after commit: the only choice without PostgreSQL and
# Redis (an in-process layer is unreachable from another process), as `make run` is.
EVENT_RELAY = env.str("EVENT_RELAY", default="listen" if IS_POSTGRES and REDIS_URL else "inline")
if EVENT_RELAY not in ("listen", "inline"):
    raise ImproperlyConfigured("EVENT_RELAY is listen or inline.")
if EVENT_RELAY == "listen" and not (IS_POSTGRES and REDIS_URL):
    raise ImproperlyConfigured("EVENT_RELAY=listen needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL).")
# How long a reception screen's display token works before it must be rotated.
DISPLAY_TOKEN_TTL_DAYS = env.int("DISPLAY_TOKEN_TTL_DAYS", default=90)
WS_AUTH_TIMEOUT_SECONDS = env.float("WS_AUTH_TIMEOUT_SECONDS", default=10.0)
WS_TOKEN_RECHECK_SECONDS = env.float("WS_TOKEN_RECHECK_SECONDS", default=60.0)
WS_MAX_MESSAGE_BYTES = env.int("WS_MAX_MESSAGE_BYTES", default=4096)
WS_MAX_SUBSCRIPTIONS = env.int("WS_MAX_SUBSCRIPTIONS", default=50)
WS_REPLAY_LIMIT = env.int("WS_REPLAY_LIMIT", default=1000)
EVENT_RETENTION = timedelta(hours=env.float("EVENT_RETENTION_HOURS", default=24.0))
# How often the beat re-sends events left unsent (celery.py), and how often a standby relay
# checks whether it should take over; an event is the beat's to send after the grace.
EVENT_RELAY_INTERVAL_SECONDS = env.float("EVENT_RELAY_INTERVAL_SECONDS", default=5.0)
EVENT_RELAY_GRACE_SECONDS = env.float("EVENT_RELAY_GRACE_SECONDS", default=2.0)
