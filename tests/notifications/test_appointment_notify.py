"""Booking, moving and cancelling notify the patient, after commit only."""

from datetime import time, timedelta

import pytest
import time_machine
from celery.signals import task_prerun
from django.db import transaction
from django.utils import timezone

from clinic.clock import clinic_timezone
from clinic.services import clinic_setting_set
from core.exceptions import Conflict
from notifications import services as notification_services
from notifications.models import Notification
from scheduling import services as scheduling
from scheduling.models import Slot, SlotStatus
from tests.clock import clinic_at, clinic_day


@pytest.fixture
def slots(carol, ada):
    """Two free slots of carol's tomorrow morning."""
    clinic_setting_set(actor=ada, key="booking_horizon_days", value=3)
    scheduling.rule_create(
        actor=ada,
        doctor=carol.doctor,
        weekday=clinic_day(1).weekday(),
        start_time=time(9),
        end_time=time(10),
        slot_minutes=30,
    )
    return list(
        Slot.objects.filter(
            doctor=carol.doctor,
            status=SlotStatus.FREE,
            start__in=[clinic_at(time(9), days=1), clinic_at(time(9, 30), days=1)],
        ).order_by("start")
    )


def _book(alice, carol, slot):
    return scheduling.appointment_book(actor=alice, doctor=carol.doctor, start=slot.start, reason="Chest pain")


@pytest.mark.django_db
def test_booking_moving_and_cancelling_notify_the_patient(alice, carol, slots, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = _book(alice, carol, slots[0])
    with django_capture_on_commit_callbacks(execute=True):
        scheduling.appointment_update(actor=alice, appointment=appointment, start=slots[1].start)
    with django_capture_on_commit_callbacks(execute=True):
        scheduling.appointment_cancel(actor=alice, appointment=appointment)

    notes = Notification.objects.filter(user=alice, appointment=appointment).order_by("id")
    assert [(n.kind, n.channel) for n in notes] == [
        ("appointment_booked", "email"),
        ("appointment_booked", "in_app"),
        ("appointment_rescheduled", "email"),
        ("appointment_rescheduled", "in_app"),
        ("appointment_cancelled", "email"),
        ("appointment_cancelled", "in_app"),
    ]
    moved = notes.get(kind="appointment_rescheduled", channel="email")
    start = slots[1].start.astimezone(clinic_timezone())
    assert moved.body == (
        f"Your appointment with Dr Carol Chen at the clinic has moved to {start:%A %d %B %Y} at {start:%H:%M}"
        f" ({start.tzname()})."
    )
    assert all("Chest" not in n.body for n in notes)
    assert set(notes.filter(channel="email").values_list("status", flat=True)) == {"sent"}  # console sender


@pytest.mark.django_db
def test_a_refused_booking_notifies_nobody(alice, bob, carol, slots, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _book(alice, carol, slots[0])
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Conflict):
        _book(bob, carol, slots[0])

    assert not Notification.objects.filter(user=bob).exists()


@pytest.mark.django_db
def test_the_channels_the_patient_chose(alice, carol, slots, django_capture_on_commit_callbacks):
    notification_services.preference_update(actor=alice, user=alice, changes={"email": False})
    with django_capture_on_commit_callbacks(execute=True):
        _book(alice, carol, slots[0])

    assert list(Notification.objects.filter(user=alice).values_list("channel", flat=True)) == ["in_app"]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_booking_sends_nothing(standin, alice_reachable, carol, slots):
    with pytest.raises(RuntimeError), transaction.atomic():
        _book(alice_reachable, carol, slots[0])
        raise RuntimeError("the surrounding work failed")

    assert not Notification.objects.exists()
    assert standin.requests == []

    _book(alice_reachable, carol, slots[0])  # committed this time

    assert len(standin.sends("sms")) == 1
    assert len(standin.sends("email")) == 1
    assert Notification.objects.filter(status="sent").count() == 3


@pytest.fixture
def tasks_run():
    """The names of the Celery tasks that run (eager here), in order."""
    names: list[str] = []

    def record(sender, **_):
        names.append(sender.name)

    task_prerun.connect(record, weak=False)
    yield names
    task_prerun.disconnect(record)


@pytest.mark.django_db(transaction=True)
def test_the_notify_task_delivers_the_sms_and_email_itself(standin, alice_reachable, carol, slots, tasks_run):
    _book(alice_reachable, carol, slots[0])

    # One task per booking: the first attempt of each delivery runs inside it.
    assert tasks_run == ["notifications.notify_appointment"]
    assert len(standin.sends("sms")) == 1
    assert len(standin.sends("email")) == 1
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db(transaction=True)
def test_a_delivery_the_provider_defers_is_retried_as_a_task_of_its_own(
    standin, alice_reachable, carol, slots, tasks_run
):
    notification_services.preference_update(actor=alice_reachable, user=alice_reachable, changes={"email": False})
    standin.script = [503]

    _book(alice_reachable, carol, slots[0])

    assert tasks_run == ["notifications.notify_appointment", "notifications.deliver"]
    sms = Notification.objects.get(channel="sms")
    assert (sms.status, sms.attempts) == ("sent", 2)
    assert [r.method for r in standin.requests] == ["POST", "GET", "POST"]  # the retry asks before resending
    assert len(standin.sms) == 1  # accepted once


@pytest.mark.django_db
def test_a_worker_that_dies_before_sending_leaves_its_claim_to_the_sweep(
    standin, alice_reachable, carol, slots, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():  # the booking's task is not run
        appointment = _book(alice_reachable, carol, slots[0])
    with django_capture_on_commit_callbacks(execute=True):
        # The worker makes the notifications claimed for itself, commits, and dies.
        notification_services.appointment_notify(appointment_id=appointment.pk, kind="booked", deliver=lambda _: None)
    claimed = Notification.objects.filter(channel__in=["sms", "email"])
    assert {(n.status, n.attempts) for n in claimed} == {("sending", 1)}
    assert notification_services.deliveries_stalled() == []  # the claim's lease still runs

    after_lease = timezone.now() + timedelta(seconds=settings.NOTIFICATION_SENDING_LEASE_SECONDS + 1)
    stalled = notification_services.deliveries_stalled(now=after_lease)
    assert sorted(stalled) == sorted(n.pk for n in claimed)
    with time_machine.travel(after_lease, tick=False):
        outcomes = [notification_services.notification_deliver(notification_id=pk).result for pk in stalled]

    assert outcomes == ["sent", "sent"]
    # Attempt 2 asks the provider first (the dead worker might have sent it), then sends once.
    assert [r.method for r in standin.requests] == ["GET", "POST", "GET", "POST"]
    assert (len(standin.sms), len(standin.emails)) == (1, 1)
    assert {(n.status, n.attempts) for n in claimed.all()} == {("sent", 2)}


@pytest.mark.django_db
def test_the_notify_task_makes_and_delivers_in_few_queries(
    alice, carol, slots, django_capture_on_commit_callbacks, django_assert_num_queries
):
    from notifications.tasks import notify_appointment

    with django_capture_on_commit_callbacks():  # the booking's own task is not run
        appointment = _book(alice, carol, slots[0])
    # In one transaction: the appointment with its patient, user and preferences (locked),
    # "already announced?", the clinic's name (until cached), the two notifications (one
    # INSERT), the in-app one's event (its topic's lock, its row), their audit rows (one
    # INSERT). Then the email, made claimed and sent (console sender), recorded sent with its
    # audit row. 4 savepoint statements.
    with django_assert_num_queries(15), django_capture_on_commit_callbacks(execute=True):
        notify_appointment(appointment.pk, "booked")
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
