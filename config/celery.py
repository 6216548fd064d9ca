"""The Celery application: `celery -A config worker` and `celery -A config beat`."""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The request id follows tasks, task outcomes are counted, worker and beat beat (heartbeats).
import observability.celery_signals  # noqa: E402, F401


@worker_ready.connect
def _announce_backends(**kwargs: object) -> None:
    from config.backends import log_backends

    log_backends("worker")
