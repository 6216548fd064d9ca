"""A video visit at a known instant, and the clock moved around its window."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import time_machine
from rest_framework.response import Response
from rest_framework.test import APIClient

from accounts.models import User
from scheduling.models import Appointment, VisitType
from tests import factories

API_KEY_SID = "SK" + "1" * 32
API_KEY_SECRET = "video-api-key-secret-of-32-bytes-at-least"

# A fixed instant far from any wall clock: the tests travel to it (time-machine).
START = datetime(2031, 3, 10, 9, 0, tzinfo=UTC)
END = START + timedelta(minutes=30)
OPENS = START - timedelta(minutes=10)
CLOSES = END + timedelta(minutes=30)


def video_visit(*, doctor: User, patient: User, status: str = "booked") -> Appointment:
    appointment = factories.appointment_at(doctor=doctor, patient=patient, start=START, minutes=30, status=status)
    Appointment.objects.filter(pk=appointment.pk).update(visit_type=VisitType.VIDEO)
    appointment.refresh_from_db()
    return appointment


def video_url(appointment: Appointment) -> str:
    return f"/api/appointments/{appointment.pk}/video/"


def get_at(instant: datetime, client_for: Callable[[User], APIClient], user: User, path: str) -> Response:
    """GET `path` as `user`, with the clock at `instant` (the token made then, too)."""
    with time_machine.travel(instant, tick=False):
        return client_for(user).get(path)
