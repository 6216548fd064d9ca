"""Scheduling fixtures: a short horizon, doctors with every-day hours, free slots to book."""

from collections.abc import Callable, Iterator
from datetime import time, timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from clinic.registry import clear_cache
from clinic.services import clinic_setting_set
from scheduling import services
from scheduling.models import Slot, SlotStatus

HORIZON_DAYS = 7


@pytest.fixture(autouse=True)
def _fresh_clinic_settings() -> Iterator[None]:
    # Clinic settings are cached per process for a few seconds; each test starts clean.
    clear_cache()
    yield
    clear_cache()


def set_policy(key: str, value: object) -> None:
    clinic_setting_set(actor=None, key=key, value=value)
    clear_cache()


def give_hours(doctor: User, actor: User, *, start: time = time(9), end: time = time(17), minutes: int = 30) -> None:
    """Working hours on every weekday, so tomorrow always has slots."""
    for weekday in range(7):
        services.rule_create(
            actor=actor, doctor=doctor.doctor, weekday=weekday, start_time=start, end_time=end, slot_minutes=minutes
        )


def free_slots(doctor: User, *, after: timedelta = timedelta(days=1)) -> list[Slot]:
    return list(
        Slot.objects.filter(doctor=doctor.doctor, status=SlotStatus.FREE, start__gte=timezone.now() + after).order_by(
            "start"
        )
    )


@pytest.fixture
def clinic(db: None) -> None:
    """A clinic with a 7-day horizon (fewer slots, quicker tests)."""
    set_policy("booking_horizon_days", HORIZON_DAYS)


@pytest.fixture
def carol_hours(clinic: None, carol: User, ada: User) -> User:
    give_hours(carol, ada)
    return carol


@pytest.fixture
def dave_hours(clinic: None, dave: User, ada: User) -> User:
    give_hours(dave, ada)
    return dave


@pytest.fixture
def slot_of(carol_hours: User) -> Callable[[int], Slot]:
    """`slot_of(n)`: carol's n-th free slot from tomorrow on."""

    def pick(index: int = 0) -> Slot:
        return free_slots(carol_hours)[index]

    return pick
