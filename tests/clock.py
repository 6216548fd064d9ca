"""The test clock: the instant and the clinic time zone a run pretends to be in.

`TEST_NOW=2026-03-29T00:30:00+00:00 make test` travels the clock (time-machine, ticking)
to that instant at the start of the session and again at the start of every test, so
each test sees the same adversarial hour whatever the suite's length.
`TEST_CLINIC_TIMEZONE=Pacific/Kiritimati make test` makes that zone the clinic's default.
Neither set: the real time, and the clinic's registered default zone (UTC).

time-machine moves Python's clocks only (datetime, date.today, time.time), not
PostgreSQL's now(): the product asks Django's timezone.now() whenever the clock matters.
Processes a test starts (daphne, the relay, a Celery worker, manage.py) get the test's
clock and clinic time zone through `in_test_clock(argv)`. Tests build their times from the
clinic's day (`clinic_at`, `clinic_day`), never from "now" plus a fixed time of day.
"""

import dataclasses
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import time_machine

from clinic import registry
from clinic.clock import TIMEZONE, clinic_timezone, clinic_today
from scheduling import calendar


def fixed_now() -> datetime | None:
    """TEST_NOW as an aware instant, or None to run at the real time."""
    raw = os.environ.get("TEST_NOW", "").strip()
    if not raw:
        return None
    instant = datetime.fromisoformat(raw)
    if instant.tzinfo is None:
        raise ValueError(f"TEST_NOW must carry its UTC offset (e.g. 2026-03-29T00:30:00+00:00), not {raw!r}")
    return instant


def fixed_clinic_timezone() -> str | None:
    """TEST_CLINIC_TIMEZONE (an IANA name), or None for the registered default."""
    name = os.environ.get("TEST_CLINIC_TIMEZONE", "").strip()
    if not name:
        return None
    ZoneInfo(name)  # an unknown name fails the run at once, not test by test
    return name


def use_clinic_timezone(name: str) -> Callable[[], None]:
    """Make `name` the clinic's default time zone (the zone of a clinic whose admin set
    none) in this process; returns what puts the registered default back."""
    registered = registry.REGISTRY["timezone"]
    registry.REGISTRY["timezone"] = dataclasses.replace(registered, default=name)
    registry.clear_cache()

    def restore() -> None:
        registry.REGISTRY["timezone"] = registered
        registry.clear_cache()

    return restore


def in_test_clock(argv: Sequence[str]) -> list[str]:
    """`argv` (a console script, or `sys.executable` and a script, and the arguments) run
    in this test's clock and clinic time zone.

    At the real time and in the registered default zone the process is started as it is.
    When the test's clock has travelled (TEST_NOW, or a test's own `time_machine.move_to`),
    or the clinic's default zone is another (TEST_CLINIC_TIMEZONE, `use_clinic_timezone`),
    it starts through tests/clock_process.py at the instant this test's clock shows,
    ticking on from there, with that default zone.
    """
    travelling = time_machine.escape_hatch.is_travelling()
    # `use_clinic_timezone` replaces the registry's entry, never TIMEZONE, the spec
    # clinic/clock.py registered.
    zone = registry.REGISTRY["timezone"].default
    if not travelling and zone == TIMEZONE.default:
        return list(argv)
    here = os.path.join(os.path.dirname(__file__), "clock_process.py")
    # `python manage.py ...` and a console script alike: the script is what runs.
    script = argv[1:] if argv[0] == sys.executable else argv
    instant = datetime.now(UTC).isoformat() if travelling else "-"
    return [sys.executable, here, instant, zone if zone != TIMEZONE.default else "-", *script]


def hour_start(at: datetime) -> datetime:
    """The start of `at`'s UTC hour (for tests that must not cross a fixed rate window)."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def clinic_day(days: int = 0) -> date:
    """The clinic's day `days` from today (today in the clinic's zone, not in UTC)."""
    return clinic_today() + timedelta(days=days)


def clinic_at(wall: time, *, days: int = 0) -> datetime:
    """The instant of wall-clock `wall` on the clinic's day `days` from today (UTC).

    "Tomorrow at 09:00" is `clinic_at(time(9), days=1)`: 09:00 where the clinic is, on
    the clinic's tomorrow, whatever the hour and the zone of the run.
    """
    return calendar.to_instant(datetime.combine(clinic_day(days), wall), clinic_timezone())


def clinic_date(instant: datetime) -> date:
    """The clinic day an instant falls on."""
    return instant.astimezone(clinic_timezone()).date()
