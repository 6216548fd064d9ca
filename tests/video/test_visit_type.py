"""`visit_type` in payloads, reminders and the join page (contract §14); booking: tests/scheduling."""

from datetime import timedelta

import pytest

from notifications.models import Notification
from notifications.services import reminders_create_due
from tests.video.helpers import START, video_visit

pytestmark = pytest.mark.django_db


def test_the_appointment_shows_the_visit_type(client_for, carol, alice):
    visit = video_visit(doctor=carol, patient=alice)
    body = client_for(carol).get(f"/api/appointments/{visit.pk}/").json()
    assert body["visit_type"] == "video"


def test_a_video_visits_reminder_carries_the_join_link(settings, alice, carol):
    settings.PUBLIC_BASE_URL = "https://clinic.example.test"
    visit = video_visit(doctor=carol, patient=alice)
    reminders_create_due(now=START - timedelta(hours=1))
    bodies = set(Notification.objects.filter(appointment=visit).values_list("body", flat=True))
    assert bodies, "a reminder was due"
    assert all(f"https://clinic.example.test/video/{visit.pk}/" in body for body in bodies)


def test_the_join_page_is_served(client):
    response = client.get("/video/12/")
    assert response.status_code == 200
    assert b'data-appointment="12"' in response.content
