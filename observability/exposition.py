"""What `/metrics` answers: every process's counters plus the readings taken at scrape time.

One process: the default registry. Several (PROMETHEUS_MULTIPROC_DIR set): a fresh registry
per scrape that adds up the files of every process that wrote to the directory, the way
prometheus_client's multiprocess mode documents. Processes that died without saying so
(SIGKILL, OOM) would keep their `livesum` gauges (open sockets) in the sum: their files are
dropped here first.
"""

import logging
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connection
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from observability import heartbeat, pool, probes

logger = logging.getLogger(__name__)

_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w*_(\d+)\.db")


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_processes(directory: str) -> None:
    """Drop the live gauges of processes that are gone (their counters stay: they happened)."""
    for path in Path(directory).glob("gauge_live*.db"):
        match = _LIVE_GAUGE_FILE.fullmatch(path.name)
        if match and not _alive(int(match.group(1))):
            multiprocess.mark_process_dead(int(match.group(1)), directory)


def process_exit() -> None:
    """Called at a clean exit: this process's live gauges leave the sum."""
    directory = multiprocess_dir()
    if directory:
        multiprocess.mark_process_dead(os.getpid(), directory)


class ScrapeTimeCollector(Collector):
    """Readings that are true of the whole deployment, taken once per scrape."""

    def describe(self) -> list:
        # Without it the registry would call collect() (the database, Redis) to learn names.
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._probes()
        yield from self._queue_lengths()
        yield from self._database_connections()
        yield from self._heartbeats()

    def _probes(self) -> Iterator[GaugeMetricFamily]:
        for name in probes.names():
            value = probes.read(name)
            if value is not None:
                yield GaugeMetricFamily(f"clinic_{name}", _PROBE_HELP.get(name, name), value=value)

    def _queue_lengths(self) -> Iterator[GaugeMetricFamily]:
        if not settings.REDIS_URL:
            return
        family = GaugeMetricFamily(
            "clinic_celery_queue_length", "Tasks waiting in the broker, by queue.", labels=["queue"]
        )
        try:
            client = _redis()
            for queue in _queues():
                family.add_metric([queue], client.llen(queue))
        except Exception:
            logger.warning("metrics: could not read the Celery queue lengths", exc_info=True)
            return
        yield family

    def _database_connections(self) -> Iterator[GaugeMetricFamily]:
        if connection.vendor != "postgresql":
            return
        family = GaugeMetricFamily(
            "clinic_db_connections",
            "Server connections to this database, by state (pg_stat_activity): every process and pool.",
            labels=["state"],
        )
        try:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT coalesce(state, 'unknown'), count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() GROUP BY 1"
                )
                rows = cursor.fetchall()
        except Exception:
            logger.warning("metrics: could not read pg_stat_activity", exc_info=True)
            return
        for state, count in rows:
            family.add_metric([state], count)
        yield family

    def _heartbeats(self) -> Iterator[GaugeMetricFamily]:
        if not settings.REDIS_URL:
            return
        family = GaugeMetricFamily(
            "clinic_process_heartbeat_age_seconds",
            "Seconds since each web, worker and beat process last said it was alive.",
            labels=["kind", "process"],
        )
        now = time.time()
        try:
            beats = heartbeat.read_all()
        except Exception:
            logger.warning("metrics: could not read the heartbeats", exc_info=True)
            return
        for beat in beats:
            family.add_metric([beat.kind, beat.process], max(0.0, now - beat.at))
        yield family


_PROBE_HELP = {
    probes.OUTBOX_LAG: "Age in seconds of the oldest event stored and not yet sent (0: none).",
    probes.OUTBOX_UNSENT: "Events stored and not yet sent.",
}


def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def _queues() -> list[str]:
    from celery import current_app

    default = current_app.conf.task_default_queue or "celery"
    return sorted({default, *(queue.name for queue in current_app.conf.task_queues or [])})


_scrape_time = ScrapeTimeCollector()
REGISTRY.register(_scrape_time)


def render() -> bytes:
    """The exposition text of every metric of this deployment (or of this one process)."""
    pool.refresh()
    directory = multiprocess_dir()
    if not directory:
        return generate_latest(REGISTRY)
    forget_dead_processes(directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    registry.register(_scrape_time)
    return generate_latest(registry)
