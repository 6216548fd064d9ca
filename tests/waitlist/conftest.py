"""Waitlist fixtures: scheduling's clinic and doctors, the notification stand-in, and a
helper to wait for exactly one slot."""

from typing import Any

import pytest

from clinic.clock import clinic_timezone
from scheduling.models import Slot
from tests.notifications.conftest import alice_reachable, standin  # noqa: F401
from tests.scheduling.conftest import (  # noqa: F401
    carol_hours,
    clinic,
    dave_hours,
    slot_of,
)


def window(*slots: Slot) -> dict[str, Any]:
    """A waitlist body wanting exactly the span of `slots`, in clinic days and wall-clock times."""
    tz = clinic_timezone()
    first = min(s.start for s in slots).astimezone(tz)
    last = max(s.end for s in slots).astimezone(tz)
    return {
        "doctor": slots[0].doctor.pk,
        "from": first.date().isoformat(),
        "to": last.date().isoformat(),
        "earliest_time": f"{first:%H:%M}",
        "latest_time": f"{last:%H:%M}",
    }


@pytest.fixture
def join(client_for):
    """`join(user, *slots, **extra)`: that patient waits for exactly those slots."""

    def make(user, *slots: Slot, **extra: Any) -> dict[str, Any]:
        response = client_for(user).post("/api/waitlist/", {**window(*slots), **extra}, format="json")
        assert response.status_code == 201, response.json()
        return response.json()

    return make
