"""Every Prometheus metric of the platform, defined once, and the small hooks that move them.

The apps call the hooks (`metrics.websocket_opened()`, `metrics.event_stored(topic)`), never
prometheus_client directly, so names and labels stay in one reviewable place.

Several processes (daphne x N, celery prefork children): with PROMETHEUS_MULTIPROC_DIR set
(before the process starts) prometheus_client keeps each process's values in files of that
directory and `/metrics` adds them up (observability.exposition). Gauges then need a
multiprocess mode: `livesum` adds the values of the processes still alive.

Labels are bounded on purpose: routes are URL patterns (`api/appointments/<int:pk>/`),
topics are kinds (`doctor.{id}.queue`), never ids.
"""

import re
import time

from prometheus_client import Counter, Gauge, Histogram

# Request times are tens of milliseconds; a booking under load reaches a second.
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

http_requests = Counter(
    "clinic_http_requests_total", "HTTP requests answered, by route pattern and status.", ["method", "route", "status"]
)
http_request_duration = Histogram(
    "clinic_http_request_duration_seconds",
    "Time to answer an HTTP request, by route pattern.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
api_errors = Counter(
    "clinic_api_errors_total",
    "Error answers of the API by status, error code and reason (a lost race's cause, else the code).",
    ["route", "status", "code", "reason"],
)
domain_actions = Counter(
    "clinic_domain_actions_total",
    "Committed business actions, by audit action (appointment.booked is a booking).",
    ["action"],
)

websockets_open = Gauge("clinic_websockets_open", "Websockets open now.", multiprocess_mode="livesum")
websocket_subscriptions = Gauge(
    "clinic_websocket_subscriptions",
    "Topic subscriptions of open websockets, by topic kind.",
    ["topic"],
    multiprocess_mode="livesum",
)
events_stored = Counter("clinic_realtime_events_stored_total", "Events written to the outbox.", ["topic"])
events_sent = Counter(
    "clinic_realtime_events_sent_total",
    "Events handed to the channel layer, by path: after_commit (the publisher) or relay (the beat task).",
    ["path"],
)
event_send_failures = Counter(
    "clinic_realtime_event_send_failures_total", "Sends to the channel layer that failed (the event stays unsent)."
)
fanout_publish = Histogram(
    "clinic_realtime_fanout_publish_seconds",
    "Time to hand one event to the channel layer (group_send).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
)
fanout_delivery = Histogram(
    "clinic_realtime_fanout_delivery_seconds",
    "Time from handing an event to the channel layer to writing it to a subscriber's socket.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

celery_tasks = Counter(
    "clinic_celery_tasks_total",
    "Celery task runs by task and outcome (success, failure, retry, rejected, revoked).",
    ["task", "outcome"],
)
celery_task_duration = Histogram(
    "clinic_celery_task_duration_seconds", "Run time of Celery tasks.", ["task"], buckets=_LATENCY_BUCKETS
)
notification_deliveries = Counter(
    "clinic_notification_deliveries_total",
    "Notification delivery steps by channel and the state reached (sending, sent, retry, failed).",
    ["channel", "state"],
)
db_pool_connections = Gauge(
    "clinic_db_pool_connections",
    "Connections of this deployment's processes' database pools, by state (in_use, idle).",
    ["state"],
    multiprocess_mode="livesum",
)

_ID = re.compile(r"\d+")


def topic_kind(topic: str) -> str:
    """`doctor.12.queue` → `doctor.{id}.queue`: a bounded label."""
    return _ID.sub("{id}", topic)


def websocket_opened() -> None:
    websockets_open.inc()


def websocket_closed() -> None:
    websockets_open.dec()


def subscription_added(topic: str) -> None:
    websocket_subscriptions.labels(topic_kind(topic)).inc()


def subscription_removed(topic: str) -> None:
    websocket_subscriptions.labels(topic_kind(topic)).dec()


def event_stored(topic: str) -> None:
    events_stored.labels(topic_kind(topic)).inc()


def event_sent(*, path: str, seconds: float) -> None:
    events_sent.labels(path).inc()
    fanout_publish.observe(seconds)


def event_send_failed() -> None:
    event_send_failures.inc()


def event_delivered(handed_over_at: float | None) -> None:
    """A live event reached a socket; `handed_over_at` is the sender's wall clock (time.time())."""
    if handed_over_at is not None:
        fanout_delivery.observe(max(0.0, time.time() - handed_over_at))


def notification_delivery(*, channel: str, state: str) -> None:
    notification_deliveries.labels(channel, state).inc()


def domain_action(action: str) -> None:
    domain_actions.labels(action).inc()


def db_pool(*, in_use: int, idle: int) -> None:
    db_pool_connections.labels("in_use").set(in_use)
    db_pool_connections.labels("idle").set(idle)
