"""Helpers of the scheduling tests (import them from here; fixtures stay in conftest.py)."""

from datetime import time

from accounts.models import User
from clinic.registry import clear_cache
from clinic.services import clinic_setting_set
from scheduling import services
from scheduling.models import Slot, SlotStatus
from tests.clock import clinic_at

HORIZON_DAYS = 7


def set_policy(key: str, value: object) -> None:
    clinic_setting_set(actor=None, key=key, value=value)
    clear_cache()


def give_hours(doctor: User, actor: User, *, start: time = time(9), end: time = time(17), minutes: int = 30) -> None:
    """Working hours on every weekday, so tomorrow always has slots."""
    for weekday in range(7):
        services.rule_create(
            actor=actor, doctor=doctor.doctor, weekday=weekday, start_time=start, end_time=end, slot_minutes=minutes
        )


def free_slots(doctor: User, *, days: int = 2) -> list[Slot]:
    """The doctor's free slots from the start of the clinic's day `days` ahead.

    From a clinic midnight, not from "now plus a day": the first slots are then that day's
    first hours whatever the hour of the run, so slot_of(0) and slot_of(1) share a day.
    """
    return list(
        Slot.objects.filter(
            doctor=doctor.doctor, status=SlotStatus.FREE, start__gte=clinic_at(time(0), days=days)
        ).order_by("start")
    )
