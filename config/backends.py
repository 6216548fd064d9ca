"""Which real integrations are on and which embedded defaults stand in for them.

Printed by `make run` (`manage.py backends`) and logged when a web or worker process
starts, so nobody mistakes console senders or local files for the real thing.
"""

import logging

from django.conf import settings

logger = logging.getLogger("clinic.backends")


def backend_summary() -> list[tuple[str, str]]:
    database = settings.DATABASES["default"]
    if settings.IS_POSTGRES:
        db = f"PostgreSQL {database.get('HOST') or 'local socket'}/{database.get('NAME')}"
    else:
        db = f"SQLite file {database['NAME']} (embedded default; set DATABASE_URL for PostgreSQL)"
    redis = (
        "Redis channel layer, cache and Celery broker"
        if settings.REDIS_URL
        else "in-process channel layer, cache and tasks (embedded default; set REDIS_URL for Redis)"
    )
    if settings.FIREBASE_ENABLED:
        sign_in = f"Firebase project {settings.FIREBASE_PROJECT_ID}"
        if settings.LOCAL_SIGN_IN_ENABLED:
            sign_in += " + local email/password"
    else:
        sign_in = "local email/password (embedded default; set FIREBASE_PROJECT_ID for Firebase)"
    fan_out = (
        settings.CHANNEL_LAYERS["default"]["BACKEND"].rsplit(".", 1)[-1]
        if settings.REDIS_URL
        else "in-process channel layer (embedded default: one process only; set REDIS_URL)"
    )
    if settings.AWS_STORAGE_BUCKET_NAME:
        records = f"S3 bucket {settings.AWS_STORAGE_BUCKET_NAME} (private, SSE, presigned downloads)"
    else:
        records = (
            f"local files under {settings.STORAGES['records']['OPTIONS']['location']} "
            "(embedded default; set AWS_STORAGE_BUCKET_NAME for S3)"
        )
    payments = (
        "Stripe cards" + (" (webhook signed)" if settings.STRIPE_WEBHOOK_SECRET else " (no STRIPE_WEBHOOK_SECRET)")
        if settings.STRIPE_SECRET_KEY
        else "cash and insurance at the desk only (embedded default; set STRIPE_SECRET_KEY for cards)"
    )
    video = (
        "Twilio Video rooms and access tokens"
        if settings.TWILIO_VIDEO_ENABLED
        else f"Jitsi Meet rooms at {settings.JITSI_BASE_URL} (embedded default; set TWILIO_API_KEY_SID and "
        "TWILIO_API_KEY_SECRET with the Twilio account for Twilio Video)"
    )
    from notifications.senders import describe as notifications_backends

    return [
        ("database", db),
        ("realtime & tasks", redis),
        ("websocket fan-out", fan_out),
        ("sign-in", sign_in),
        ("records files", records),
        ("payments", payments),
        ("notifications", notifications_backends()),
        ("video visits", video),
    ]


def log_backends(process: str) -> None:
    for name, description in backend_summary():
        logger.info("%s backend %s: %s", process, name, description)
