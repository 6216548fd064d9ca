"""Demo availability for `populate_db_master`: weekday hours and their slots, idempotent."""

from datetime import time

from accounts.models import Doctor, User
from scheduling import services
from scheduling.models import AvailabilityRule

# Monday to Friday, a morning and an afternoon session, clinic wall-clock time.
DEMO_SESSIONS = ((time(9, 0), time(12, 0)), (time(13, 0), time(17, 0)))
DEMO_SLOT_MINUTES = 30


def demo_availability_ensure(*, actor: User, doctors: list[Doctor]) -> int:
    """Give each doctor without rules the demo week, and make sure their slots exist.

    Returns how many rules were created (0 on a second run).
    """
    created = 0
    for doctor in doctors:
        if AvailabilityRule.objects.filter(doctor=doctor).exists():
            services.slots_regenerate(doctor=doctor)
            continue
        for weekday in range(5):
            for start_time, end_time in DEMO_SESSIONS:
                services.rule_create(
                    actor=actor,
                    doctor=doctor,
                    weekday=weekday,
                    start_time=start_time,
                    end_time=end_time,
                    slot_minutes=DEMO_SLOT_MINUTES,
                )
                created += 1
    return created
