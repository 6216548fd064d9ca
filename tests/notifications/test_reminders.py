"""Reminders: created by the beat task under a unique key, once per appointment, lead and channel."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clinic.clock import clinic_timezone
from clinic.services import clinic_setting_set
from notifications import services
from notifications.models import Notification
from notifications.tasks import send_due_reminders
from realtime.models import Event
from scheduling.models import Appointment
from tests.concurrency import run_together
from tests.notifications.helpers import appointment_in


def _reminders(appointment):
    return Notification.objects.filter(appointment=appointment, kind="appointment_reminder")


@pytest.mark.django_db
def test_two_beat_runs_over_the_same_window_make_one_reminder_per_channel(alice_reachable, carol):
    appointment = appointment_in(doctor=carol, patient=alice_reachable, hours=1.5)

    assert send_due_reminders.delay().get() == 3
    assert send_due_reminders.delay().get() == 0

    assert sorted(_reminders(appointment).values_list("channel", "lead_minutes")) == [
        ("email", 120),
        ("in_app", 120),
        ("sms", 120),
    ]


@pytest.mark.django_db(transaction=True)
def test_overlapping_beat_processes_cannot_duplicate(alice_reachable, carol):
    appointments = [appointment_in(doctor=carol, patient=alice_reachable, hours=(20 + 40 * i) / 60) for i in range(3)]
    counts = run_together(3, lambda _: services.reminders_create_due())

    assert sum(counts) == 9
    for appointment in appointments:
        assert _reminders(appointment).count() == 3


@pytest.mark.django_db
def test_each_lead_reminds_once_as_its_moment_comes(alice, carol):
    appointment = appointment_in(doctor=carol, patient=alice, hours=30)
    now = timezone.now()

    assert services.reminders_create_due(now=now) == 0  # 30 h ahead: no lead due yet
    assert services.reminders_create_due(now=appointment.start - timedelta(hours=23)) == 2  # email, in_app
    assert services.reminders_create_due(now=appointment.start - timedelta(hours=3)) == 0
    assert services.reminders_create_due(now=appointment.start - timedelta(minutes=90)) == 2

    assert sorted(set(_reminders(appointment).values_list("lead_minutes", flat=True))) == [120, 1440]


@pytest.mark.django_db
def test_a_beat_that_was_down_catches_up_with_one_reminder(alice, carol):
    appointment = appointment_in(doctor=carol, patient=alice, hours=1)

    services.reminders_create_due()

    assert set(_reminders(appointment).values_list("lead_minutes", flat=True)) == {120}


@pytest.mark.django_db
def test_an_appointment_booked_inside_the_lead_gets_no_reminder_for_it(alice, carol):
    appointment = appointment_in(doctor=carol, patient=alice, hours=1, booked_hours_before=0.5)

    assert services.reminders_create_due() == 0
    assert not _reminders(appointment).exists()


@pytest.mark.django_db
def test_a_moved_appointment_is_reminded_again(alice, carol):
    appointment = appointment_in(doctor=carol, patient=alice, hours=1.5)
    services.reminders_create_due()
    Appointment.objects.filter(pk=appointment.pk).update(start=appointment.start + timedelta(minutes=20))

    services.reminders_create_due()

    assert _reminders(appointment).filter(channel="email").count() == 2


@pytest.mark.django_db
def test_cancelled_appointments_and_changed_leads(alice, carol, ada):
    cancelled = appointment_in(doctor=carol, patient=alice, hours=1)
    Appointment.objects.filter(pk=cancelled.pk).update(status="cancelled")
    clinic_setting_set(actor=ada, key="reminder_leads_minutes", value=[30])
    soon = appointment_in(doctor=carol, patient=alice, hours=0.4)

    services.reminders_create_due()

    assert not _reminders(cancelled).exists()
    assert set(_reminders(soon).values_list("lead_minutes", flat=True)) == {30}


@pytest.mark.django_db
def test_the_reminder_says_when_who_and_where_and_nothing_more(alice, carol, ada):
    clinic_setting_set(actor=ada, key="clinic_name", value="Riverside Clinic")
    appointment = appointment_in(doctor=carol, patient=alice, hours=1.5)
    Appointment.objects.filter(pk=appointment.pk).update(reason="Follow-up on HIV test results")
    local = appointment.start.astimezone(clinic_timezone())

    services.reminders_create_due()

    reminder = _reminders(appointment).get(channel="email")
    assert reminder.body == (
        f"Reminder: your appointment with Dr Carol Chen at Riverside Clinic is on "
        f"{local:%A %d %B %Y} at {local:%H:%M} ({local.tzname()})."
    )
    assert "HIV" not in reminder.body and "HIV" not in reminder.subject
    in_app = _reminders(appointment).get(channel="in_app")
    event = Event.objects.get(topic=f"user.{alice.pk}.notifications", name="notification.created")
    assert event.data["id"] == in_app.pk
    assert event.data["status"] == "sent"


@pytest.mark.django_db
def test_a_rerun_costs_a_constant_number_of_queries(alice, bob, carol, dave, django_assert_max_num_queries):
    appointment_in(doctor=carol, patient=alice, hours=1.5)
    appointment_in(doctor=dave, patient=bob, hours=1.6)
    assert services.reminders_create_due() == 4

    with django_assert_max_num_queries(3):
        assert services.reminders_create_due() == 0
