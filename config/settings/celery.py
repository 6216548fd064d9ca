"""Celery: the broker, how workers take tasks, and the beat schedule (every periodic job, in
one table). The Celery app itself is config/celery.py."""

from celery.schedules import crontab

from config.settings.base import env
from config.settings.database import REDIS_URL
from config.settings.realtime import EVENT_RELAY_INTERVAL_SECONDS

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Without a broker, tasks run in the calling process (the embedded default).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Workers log through LOGGING (operations.py: JSON or plain, with the request id), not
# Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Holds and the waitlist (contract §11): the beat sweeps behind the expiry task queued for
# each hold's `expires_at` and the offer task queued when a slot opens.
HOLD_SWEEP_SECONDS = env.float("HOLD_SWEEP_SECONDS", default=15.0)
WAITLIST_SWEEP_SECONDS = env.float("WAITLIST_SWEEP_SECONDS", default=60.0)

CELERY_BEAT_SCHEDULE: dict = {
    # Dead API tokens, past TOKEN_RETENTION_DAYS.
    "accounts-purge-dead-tokens": {
        "task": "accounts.tasks.purge_dead_tokens",
        "schedule": crontab(hour=3, minute=30),
    },
    # Every hour, every doctor's slots are extended to the booking horizon. Hourly, not at
    # a fixed UTC hour: the horizon's new last day opens at the clinic's midnight, which can
    # be any UTC hour (10:00 UTC for Kiritimati), and its slots should be there within the
    # hour. Regenerating is idempotent: a run with nothing new to add changes nothing.
    "scheduling-extend-slots": {
        "task": "scheduling.tasks.extend_slots",
        "schedule": crontab(minute=5),
    },
    "scheduling-expire-holds": {
        "task": "scheduling.tasks.expire_holds",
        "schedule": HOLD_SWEEP_SECONDS,
    },
    "waitlist-sweep": {"task": "waitlist.tasks.sweep", "schedule": WAITLIST_SWEEP_SECONDS},
    # Events the relay did not send (realtime.py).
    "realtime-relay-unsent-events": {
        "task": "realtime.tasks.relay_unsent_events",
        "schedule": EVENT_RELAY_INTERVAL_SECONDS,
    },
    # Events past EVENT_RETENTION.
    "realtime-prune-events": {
        "task": "realtime.tasks.prune_events",
        "schedule": 3600.0,
    },
    # Deleted records past RECORDS_RETENTION_YEARS (files.py).
    "records-purge-expired": {
        "task": "records.tasks.purge_expired_records",
        "schedule": crontab(hour=4, minute=0),
    },
    "notifications-reminders": {"task": "notifications.send_due_reminders", "schedule": 60.0},
    "notifications-recover": {"task": "notifications.recover_stale_deliveries", "schedule": 120.0},
    # Card payments left unconfirmed past the `card_payment_expiry_minutes` clinic setting
    # are cancelled at Stripe, so they stop holding the appointment's balance.
    "billing-expire-card-payments": {"task": "billing.expire_card_payments", "schedule": 300.0},
}
