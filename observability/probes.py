"""Values read at scrape time, provided by the apps that own them.

The plumbing cannot import the feature apps (the outbox lives in realtime), so an app
provides a reading in its AppConfig.ready():

    probes.provide(probes.OUTBOX_LAG, outbox_lag_seconds)

and `/metrics` and `/api/health/ready` read it. A reading is cheap (one indexed query).
"""

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

# A reading's name is its metric's, less the `clinic_` prefix.
# The age in seconds of the oldest event stored in the outbox and not yet sent (0: none).
OUTBOX_LAG = "realtime_outbox_lag_seconds"
# How many events are stored and not yet sent.
OUTBOX_UNSENT = "realtime_outbox_unsent"

_providers: dict[str, Callable[[], float]] = {}


def provide(name: str, reading: Callable[[], float]) -> None:
    _providers[name] = reading


def read(name: str) -> float | None:
    """The reading, or None when nothing provides it or it failed (logged)."""
    reading = _providers.get(name)
    if reading is None:
        return None
    try:
        return float(reading())
    except Exception:
        logger.warning("probe %s failed", name, exc_info=True)
        return None


def names() -> list[str]:
    return sorted(_providers)
