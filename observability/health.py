"""The checks behind /api/health/, /api/health/ready and `manage.py health`."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import connection

from observability import probes

logger = logging.getLogger(__name__)


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.warning("health: database unreachable", exc_info=True)
        return False


def redis_ok() -> bool | None:
    """True or False; None where no Redis is configured (the embedded default)."""
    if not settings.REDIS_URL:
        return None
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        return bool(client.ping())
    except Exception:
        logger.warning("health: redis unreachable", exc_info=True)
        return False


@dataclass(frozen=True)
class Readiness:
    database: bool
    redis: bool | None
    outbox_lag_seconds: float | None

    @property
    def outbox_ok(self) -> bool:
        # An unreadable lag (database down) is already a failed database check.
        return self.outbox_lag_seconds is None or self.outbox_lag_seconds <= settings.HEALTH_MAX_OUTBOX_LAG_SECONDS

    @property
    def ready(self) -> bool:
        return self.database and self.redis is not False and self.outbox_ok

    def as_body(self) -> dict:
        return {
            "status": "ok" if self.ready else "unavailable",
            "database": "ok" if self.database else "down",
            "redis": "not_configured" if self.redis is None else ("ok" if self.redis else "down"),
            "outbox": "ok" if self.outbox_ok else "lagging",
            "outbox_lag_seconds": None if self.outbox_lag_seconds is None else round(self.outbox_lag_seconds, 3),
            "outbox_lag_threshold_seconds": settings.HEALTH_MAX_OUTBOX_LAG_SECONDS,
        }


def readiness() -> Readiness:
    database = database_ok()
    return Readiness(
        database=database,
        redis=redis_ok(),
        outbox_lag_seconds=probes.read(probes.OUTBOX_LAG) if database else None,
    )
