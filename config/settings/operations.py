"""Operations: metrics, health checks, heartbeats and logs."""

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from config.settings.base import env

# /metrics answers only with `Authorization: Bearer <METRICS_TOKEN>`; unset, it is off (404).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# A worker serves its own metrics on this port (0: not at all), for Prometheus inside the network.
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)
WORKER_METRICS_ADDR = env.str("WORKER_METRICS_ADDR", default="0.0.0.0")  # noqa: S104
# /api/health/ready fails when the oldest unsent outbox event is older than this.
HEALTH_MAX_OUTBOX_LAG_SECONDS = env.float("HEALTH_MAX_OUTBOX_LAG_SECONDS", default=60.0)
# Web, worker and beat processes write a heartbeat to Redis this often (three missed: gone).
HEARTBEAT_INTERVAL_SECONDS = env.float("HEARTBEAT_INTERVAL_SECONDS", default=15.0)

LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured("LOG_FORMAT is plain or json.")

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "observability.logs.ContextFilter"}},
    "formatters": {
        "plain": {
            "()": "observability.logs.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "json": {
            "()": "observability.logs.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # The Twilio SDK logs every request's headers and body at INFO: phone numbers and
    # message text do not belong in the log.
    "loggers": {
        "twilio.http_client": {"level": "WARNING"},
        # Django's own console handler (DEBUG only) would print each line a second time.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # A 4xx is already the access line (`clinic.request`, observability.middleware, which
        # logs the path without its query string); 5xx keep their traceback.
        "django.request": {"level": "ERROR"},
        # daphne's start-up details (HTTP/2 off, endpoint set-up, listening); `daphne.cli`
        # still says where it serves.
        "daphne.server": {"level": "WARNING"},
    },
}
