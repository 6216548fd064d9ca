"""Every beat task is idempotent: two beats firing it at once, and once more after, do what
one run does. So a second beat process (a failover that overlapped, a mistaken scale-up)
doubles no scheduled work.

Each scenario sets up work for the task, runs it in two threads released together (two
beats, each on its own database connection, as two worker processes would) and once more,
then checks that the outcome is that of a single run. A test fails for any task in
CELERY_BEAT_SCHEDULE without a scenario here: a new beat task must prove it too.
"""

import logging
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import AuthToken
from config.celery import app
from notifications.models import Notification, NotificationStatus
from realtime.models import Event
from scheduling.models import Slot
from tests.concurrency import run_together
from tests.notifications.helpers import appointment_in
from tests.scheduling.helpers import give_hours

pytestmark = pytest.mark.django_db(transaction=True)


def run_as_two_beats_and_again(task_name: str) -> None:
    app.loader.import_default_modules()  # the task modules, as a worker loads them
    task = app.tasks[task_name]
    # .result, not .get(): Celery forbids get() while another thread runs an eager task.
    outcomes = run_together(2, lambda _: task.apply().result)
    assert not any(isinstance(outcome, Exception) for outcome in outcomes), outcomes
    task.apply()


def _slot_data(start) -> dict:
    return {"doctor": 1, "start": start.isoformat(), "end": (start + timedelta(minutes=30)).isoformat()}


def purge_dead_tokens(alice, **_) -> Callable[[], None]:
    live = accounts_services.token_issue(user=alice)
    dead = accounts_services.token_issue(user=alice)
    AuthToken.objects.exclude(expires_at=live.expires_at).update(expires_at=timezone.now() - timedelta(days=60))
    assert AuthToken.objects.count() == 2 and dead

    def check() -> None:
        assert list(AuthToken.objects.values_list("expires_at", flat=True)) == [live.expires_at]

    return check


def extend_slots(carol, ada, **_) -> Callable[[], None]:
    give_hours(carol, ada)
    expected = set(Slot.objects.filter(doctor=carol.doctor).values_list("start", flat=True))
    # As if the horizon had moved on: the newest days are missing until the task runs.
    Slot.objects.filter(start__gte=max(expected) - timedelta(days=2)).delete()

    def check() -> None:
        starts = list(Slot.objects.filter(doctor=carol.doctor).values_list("start", flat=True))
        assert len(starts) == len(set(starts)) and set(starts) == expected

    return check


def relay_unsent_events(**_) -> Callable[[], None]:
    old = timezone.now() - timedelta(minutes=5)
    for minutes in range(3):
        Event.objects.create(
            topic="doctor.1.availability",
            name="slot.booked",
            data=_slot_data(timezone.now() + timedelta(days=1, minutes=30 * minutes)),
            occurred_at=old,
        )

    def check() -> None:
        # Each event is sent (a second send of one is dropped by id at the subscriber).
        assert not Event.objects.filter(sent_at__isnull=True).exists()
        assert Event.objects.count() == 3

    return check


def prune_events(**_) -> Callable[[], None]:
    for days in (3, 2, 0):
        Event.objects.create(
            topic="doctor.1.availability",
            name="slot.booked",
            data=_slot_data(timezone.now() + timedelta(days=1)),
            occurred_at=timezone.now() - timedelta(days=days),
            sent_at=timezone.now(),
        )
    keep = list(Event.objects.filter(occurred_at__gt=timezone.now() - settings.EVENT_RETENTION).values_list("id"))

    def check() -> None:
        assert list(Event.objects.values_list("id")) == keep

    return check


def send_due_reminders(alice, carol, **_) -> Callable[[], None]:
    appointment = appointment_in(doctor=carol, patient=alice, hours=1.5)

    def check() -> None:
        reminders = Notification.objects.filter(appointment=appointment, kind="appointment_reminder")
        channels = list(reminders.values_list("channel", flat=True))
        assert sorted(channels) == ["email", "in_app"]

    return check


def recover_stale_deliveries(alice, **_) -> Callable[[], None]:
    now = timezone.now()
    stuck = Notification.objects.create(
        user=alice,
        channel="email",
        kind="admin_message",
        subject="Hello",
        body="A message",
        recipient=alice.email,
        status=NotificationStatus.SENDING,
        attempts=1,
        sending_started_at=now - timedelta(seconds=settings.NOTIFICATION_SENDING_LEASE_SECONDS + 60),
        created_at=now - timedelta(hours=1),
        updated_at=now - timedelta(hours=1),
    )
    # The console sender writes one log line per message handed over: count them.
    handed_over: list[str] = []
    sender_log = logging.getLogger("notifications.senders")
    handler = logging.Handler(logging.INFO)
    handler.emit = lambda record: handed_over.append(record.getMessage())  # type: ignore[method-assign]
    sender_log.addHandler(handler)

    def check() -> None:
        sender_log.removeHandler(handler)
        stuck.refresh_from_db()
        assert stuck.status == NotificationStatus.SENT
        assert len([line for line in handed_over if f"email notification {stuck.pk} " in line]) == 1, handed_over

    return check


def expire_card_payments(alice, carol, settings, **_) -> Callable[[], None]:
    from decimal import Decimal

    from audit.models import AuditLog
    from billing.models import Payment
    from tests import factories

    visit = factories.appointment_at(doctor=carol, patient=alice, start=timezone.now() - timedelta(days=1))
    # Cards are on (a key), but this payment never reached Stripe: expiring it calls nobody.
    settings.STRIPE_SECRET_KEY = "sk_test_not_called"
    # A card payment left pending long past any expiry.
    payment = Payment.objects.create(
        appointment=visit,
        payer=alice,
        idempotency_key="abandoned",
        request_fingerprint="-",
        method="card",
        amount=Decimal("50.00"),
        currency="EUR",
        gateway="stripe",
        created_at=timezone.now() - timedelta(days=2),
    )

    def check() -> None:
        payment.refresh_from_db()
        assert (payment.status, payment.failure_reason) == ("failed", "expired")
        assert AuditLog.objects.filter(action="payment.failed", object_id=str(payment.pk)).count() == 1

    return check


def expire_holds(alice, carol, ada, **_) -> Callable[[], None]:
    from audit.models import AuditLog
    from scheduling import services as scheduling
    from scheduling.models import Hold
    from tests import factories
    from tests.scheduling.helpers import free_slots

    give_hours(carol, ada)
    slots = free_slots(carol)[:3]
    patients = [alice, factories.PatientFactory(), factories.PatientFactory()]
    holds = [
        scheduling.hold_create(actor=patient, doctor=carol.doctor, start=slot.start)
        for patient, slot in zip(patients, slots, strict=True)
    ]
    # Their time has come; nothing has ended them yet.
    Hold.objects.filter(pk__in=[h.pk for h in holds]).update(expires_at=timezone.now() - timedelta(seconds=1))

    def check() -> None:
        assert set(Hold.objects.filter(pk__in=[h.pk for h in holds]).values_list("status", flat=True)) == {"expired"}
        assert Event.objects.filter(name="slot.released").count() == 3
        assert AuditLog.objects.filter(action="hold.expired").count() == 3

    return check


def waitlist_sweep(alice, bob, carol, ada, **_) -> Callable[[], None]:
    from clinic.clock import clinic_timezone, clinic_today
    from scheduling.models import Hold
    from tests.scheduling.helpers import free_slots
    from waitlist.models import Offer, WaitlistEntry

    give_hours(carol, ada)
    slot = free_slots(carol)[0]
    local = slot.start.astimezone(clinic_timezone())
    # Written straight to the table: as if the offer task after the join had been lost.
    waiting = WaitlistEntry.objects.create(
        doctor=carol.doctor,
        patient=alice.patient,
        first_day=local.date(),
        last_day=local.date(),
        earliest_time=local.time(),
        latest_time=slot.end.astimezone(clinic_timezone()).time(),
    )
    past = WaitlistEntry.objects.create(
        doctor=carol.doctor,
        patient=bob.patient,
        first_day=clinic_today() - timedelta(days=3),
        last_day=clinic_today() - timedelta(days=1),
    )

    def check() -> None:
        assert Offer.objects.filter(entry=waiting).count() == 1
        assert Hold.objects.filter(patient=alice.patient, status="active").count() == 1
        assert Notification.objects.filter(user=alice, kind="waitlist_offer", channel="in_app").count() == 1
        assert list(WaitlistEntry.objects.order_by("pk").values_list("pk", "status")) == [
            (waiting.pk, "offered"),
            (past.pk, "expired"),
        ]

    return check


def purge_expired_records(alice, carol, settings, **_) -> Callable[[], None]:
    import tempfile
    from pathlib import Path

    from audit.models import AuditLog
    from clinic.clock import clinic_today
    from records import services as records_services
    from records.models import MedicalReport, Prescription
    from tests import factories
    from tests.records.helpers import MEDICATIONS, PAST, pdf_bytes, stored_files, upload

    files = tempfile.TemporaryDirectory()
    location = Path(files.name)
    settings.STORAGES = {
        **settings.STORAGES,
        "records": {"BACKEND": "records.storage.RecordsFileStorage", "OPTIONS": {"location": location}},
    }
    visit = factories.appointment_at(doctor=carol, patient=alice, start=PAST, status="completed")
    report = records_services.report_upload(
        actor=carol,
        patient_id=alice.patient.id,
        appointment_id=visit.id,
        title="Scan",
        description="",
        upload=upload(pdf_bytes()),
    )
    prescription = records_services.prescription_create(
        actor=carol, patient_id=alice.patient.id, appointment_id=visit.id, medications=MEDICATIONS, instructions=""
    )
    records_services.report_delete(actor=carol, report_id=report.pk)
    records_services.prescription_delete(actor=carol, prescription_id=prescription.pk)
    past = clinic_today() - timedelta(days=1)
    MedicalReport.objects.filter(pk=report.pk).update(retain_until=past)
    Prescription.objects.filter(pk=prescription.pk).update(retain_until=past)

    def check() -> None:
        assert not MedicalReport.objects.exists() and not Prescription.objects.exists()
        assert stored_files(location) == []
        purged = AuditLog.objects.filter(action__in=["report.purged", "prescription.purged"])
        assert sorted(purged.values_list("action", flat=True)) == ["prescription.purged", "report.purged"]
        files.cleanup()

    return check


SCENARIOS = {
    "records.tasks.purge_expired_records": purge_expired_records,
    "billing.expire_card_payments": expire_card_payments,
    "accounts.tasks.purge_dead_tokens": purge_dead_tokens,
    "scheduling.tasks.extend_slots": extend_slots,
    "realtime.tasks.relay_unsent_events": relay_unsent_events,
    "realtime.tasks.prune_events": prune_events,
    "notifications.send_due_reminders": send_due_reminders,
    "notifications.recover_stale_deliveries": recover_stale_deliveries,
    "scheduling.tasks.expire_holds": expire_holds,
    "waitlist.tasks.sweep": waitlist_sweep,
}


def test_every_beat_task_has_a_scenario():
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == set(SCENARIOS), "add a scenario for each beat task to SCENARIOS"


@pytest.mark.parametrize("task_name", sorted(SCENARIOS))
def test_two_beats_do_what_one_does(task_name, alice, bob, carol, ada, settings):
    check = SCENARIOS[task_name](alice=alice, bob=bob, carol=carol, ada=ada, settings=settings)
    run_as_two_beats_and_again(task_name)
    check()
