"""Celery: the request id travels with every task, task outcomes are counted, and the worker
and the beat report their state. Connected by config/celery.py.

The request that queued a task puts its id in the task message's headers
(`before_task_publish`); the worker puts it back in the log context before the task runs,
so one id ties the request's log lines to those of every task it caused.
"""

import logging
import time
from typing import Any

from celery import signals
from django.conf import settings

from observability import context, exposition, heartbeat, metrics

logger = logging.getLogger(__name__)

HEADER = "request_id"

# task id -> (log context token, start time), for the run in progress in this process.
_running: dict[str, tuple[Any, float]] = {}


@signals.before_task_publish.connect
def _carry_request_id(headers: dict | None = None, **kwargs: Any) -> None:
    request_id = context.current().request_id
    if request_id and headers is not None:
        headers.setdefault(HEADER, request_id)


@signals.task_prerun.connect
def _task_started(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    if task_id is None or task is None:
        return
    outer = context.current()
    # A worker finds the id in the message; an eager task (run in the request) already has it.
    request_id = getattr(task.request, HEADER, None) or outer.request_id
    token = context.start(request_id=request_id, user_id=outer.user_id, route=outer.route, task=task.name)
    _running[task_id] = (token, time.perf_counter())


@signals.task_postrun.connect
def _task_finished(task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any) -> None:
    started = _running.pop(task_id, None) if task_id else None
    if task is None:
        return
    metrics.celery_tasks.labels(task.name, (state or "unknown").lower()).inc()
    if started is not None:
        token, at = started
        metrics.celery_task_duration.labels(task.name).observe(time.perf_counter() - at)
        context.end(token)


@signals.task_revoked.connect
def _task_revoked(request: Any = None, **kwargs: Any) -> None:
    name = getattr(getattr(request, "task", None), "name", None) or getattr(request, "name", None) or "unknown"
    metrics.celery_tasks.labels(name, "revoked").inc()


@signals.worker_ready.connect
def _worker_ready(**kwargs: Any) -> None:
    heartbeat.start("worker", "ready")
    if settings.WORKER_METRICS_PORT:
        _serve_worker_metrics(settings.WORKER_METRICS_PORT)


@signals.worker_shutdown.connect
def _worker_shutdown(**kwargs: Any) -> None:
    heartbeat.stop("worker")


@signals.worker_process_shutdown.connect
def _pool_process_exit(**kwargs: Any) -> None:
    exposition.process_exit()


@signals.beat_init.connect
def _beat_started(**kwargs: Any) -> None:
    heartbeat.start("beat", "scheduling")


def _serve_worker_metrics(port: int) -> None:
    """The worker's own /metrics (its pool processes' counters), on an internal port."""
    from prometheus_client import REGISTRY, CollectorRegistry, multiprocess, start_http_server

    directory = exposition.multiprocess_dir()
    registry = REGISTRY
    if directory:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
    start_http_server(port, addr=settings.WORKER_METRICS_ADDR, registry=registry)
    logger.info("worker metrics on %s:%s", settings.WORKER_METRICS_ADDR, port)
