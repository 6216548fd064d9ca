"""No double booking, whatever the concurrency (PostgreSQL, real threads, own connections)."""

import random
import threading
import time as clock
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

import httpx
import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from clinic.clock import clinic_today
from core.exceptions import DomainError
from scheduling import services
from scheduling.models import Appointment, Slot, SlotStatus
from tests import factories
from tests.concurrency import run_together
from tests.scheduling.helpers import free_slots, set_policy

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="locking is tested on PostgreSQL")

OVERLAPS_SQL = """
    SELECT count(*) FROM scheduling_appointment a
    JOIN scheduling_appointment b
      ON a.id < b.id
     AND (a.doctor_id = b.doctor_id OR a.patient_id = b.patient_id)
     AND tstzrange(a.start, a."end", '[)') && tstzrange(b.start, b."end", '[)')
    WHERE a.status IN ('booked', 'checked_in', 'in_progress')
      AND b.status IN ('booked', 'checked_in', 'in_progress')
"""

# A slot is booked exactly when one active appointment holds it.
SLOT_MISMATCH_SQL = """
    SELECT count(*) FROM scheduling_slot s
    WHERE (s.status = 'booked') <> EXISTS (
        SELECT 1 FROM scheduling_appointment a
        WHERE a.slot_id = s.id AND a.status IN ('booked', 'checked_in', 'in_progress')
    )
"""


def _scalar(sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def _client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {account_services.token_issue(user=user).token}")
    return client


def _race_weekday() -> int:
    # The clinic's day after tomorrow: its 09:00 is more than a day away at any hour and in
    # any clinic time zone, so free_slots() (a day's notice) always finds it in the horizon.
    return (clinic_today() + timedelta(days=2)).weekday()


def _race_day_rule(doctor: Any, actor: Any, *, minutes: int = 30, end: time = time(11)) -> None:
    services.rule_create(
        actor=actor,
        doctor=doctor.doctor,
        weekday=_race_weekday(),
        start_time=time(9),
        end_time=end,
        slot_minutes=minutes,
    )


@pytest.mark.django_db(transaction=True)
def test_fifty_clients_one_slot_exactly_one_wins(carol, ada, clinic):
    _race_day_rule(carol, ada)
    slot = free_slots(carol)[0]
    clients = [_client(factories.PatientFactory(email=f"p{i}@fifty.test")) for i in range(50)]
    body = {"doctor": carol.doctor.id, "start": slot.start.isoformat()}

    statuses = run_together(50, lambda i: clients[i].post("/api/appointments/book/", body, format="json"))

    codes = Counter(r.status_code if hasattr(r, "status_code") else repr(r) for r in statuses)
    assert codes == {201: 1, 409: 49}, codes
    assert {r.json()["code"] for r in statuses if r.status_code == 409} == {"slot_unavailable"}
    assert Appointment.objects.filter(slot=slot, status="booked").count() == 1
    assert Slot.objects.get(pk=slot.pk).status == SlotStatus.BOOKED


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_hundred_clients_racing_over_http_get_one_201_and_199_409(daphne_server, carol, ada, clinic):
    """Through a real server process: the 200 requests share its connection pool (here 10)
    and wait their turn for a connection, so PostgreSQL never refuses one (no 503)."""
    _race_day_rule(carol, ada)
    slot = free_slots(carol)[0]
    tokens = [
        account_services.token_issue(user=factories.PatientFactory(email=f"p{i}@racers.test")).token for i in range(200)
    ]
    before = _sessions() | {_backend_pid()}
    server = daphne_server(DB_POOL_MAX_SIZE="10")
    body = {"doctor": carol.doctor.id, "start": slot.start.isoformat()}

    def attempt(index: int) -> httpx.Response:
        headers = {"Authorization": f"Bearer {tokens[index]}"}
        return httpx.post(f"http://{server}/api/appointments/book/", json=body, headers=headers, timeout=120)

    peak = _peak_connections_while(lambda: run_together(200, attempt), besides=before)

    responses = peak.result
    codes = Counter(r.status_code if hasattr(r, "status_code") else repr(r) for r in responses)
    assert codes == {201: 1, 409: 199}, codes
    assert Appointment.objects.filter(slot=slot, status="booked").count() == 1
    # The server never held more connections than its pool: PostgreSQL's limit is safe
    # whatever the number of concurrent requests.
    assert peak.connections <= 10, peak.connections


@dataclass
class _Peak:
    result: Any = None
    connections: int = 0


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _sessions() -> set[int]:
    """The backends on the test database, other than this connection's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {row[0] for row in cursor.fetchall()}


def _peak_connections_while(work: Callable[[], Any], *, besides: set[int]) -> _Peak:
    """Run `work` while sampling how many sessions, beyond `besides`, the test database has."""
    peak = _Peak()
    done = threading.Event()

    def sample() -> None:
        try:
            while not done.is_set():
                peak.connections = max(peak.connections, len(_sessions() - besides))
                clock.sleep(0.005)
        finally:
            connection.close()

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        peak.result = work()
    finally:
        done.set()
        sampler.join()
    return peak


@pytest.mark.django_db(transaction=True)
def test_one_patient_twenty_doctors_same_instant_exactly_one(alice, ada, clinic):
    doctors = [factories.DoctorFactory(email=f"d{i}@twenty.test") for i in range(20)]
    for doctor in doctors:
        _race_day_rule(doctor, ada, end=time(10))
    start = free_slots(doctors[0])[0].start
    clients = [_client(alice) for _ in range(20)]

    responses = run_together(
        20,
        lambda i: clients[i].post(
            "/api/appointments/book/", {"doctor": doctors[i].doctor.id, "start": start.isoformat()}, format="json"
        ),
    )

    codes = Counter(r.status_code if hasattr(r, "status_code") else repr(r) for r in responses)
    assert codes == {201: 1, 409: 19}, codes
    assert Appointment.objects.filter(patient=alice.patient, status="booked").count() == 1


@pytest.mark.django_db(transaction=True)
def test_one_patient_many_slots_at_once_all_booked(alice, rita, carol, ada, clinic):
    # Each booking locks its slot and writes its appointment before it locks the patient's
    # row (scheduling.services.booking): reception booking one patient into many slots at
    # once must see them all booked, none lost to a deadlock or a lock timeout.
    set_policy("max_open_appointments_per_patient", 100)
    _race_day_rule(carol, ada, minutes=15, end=time(13))
    slots = free_slots(carol)[:16]
    clients = [_client(rita) for _ in slots]

    responses = run_together(
        len(slots),
        lambda i: clients[i].post(
            "/api/appointments/book/",
            {"doctor": carol.doctor.id, "start": slots[i].start.isoformat(), "patient": alice.patient.id},
            format="json",
        ),
    )

    codes = Counter(r.status_code if hasattr(r, "status_code") else repr(r) for r in responses)
    assert codes == {201: len(slots)}, codes
    assert _scalar(OVERLAPS_SQL) == 0


@pytest.mark.django_db(transaction=True)
def test_the_open_appointment_cap_cannot_be_raced(alice, ada, clinic):
    # The cap is checked under the patient's row lock, after the booking wrote its own
    # appointment: of many bookings at once on distinct doctors and times, only the cap's.
    set_policy("max_open_appointments_per_patient", 2)
    doctors = [factories.DoctorFactory(email=f"d{i}@cap.test") for i in range(12)]
    starts = []
    for index, doctor in enumerate(doctors):
        _race_day_rule(doctor, ada, end=time(15))
        starts.append(free_slots(doctor)[index].start)  # a different half hour for each
    clients = [_client(alice) for _ in doctors]

    responses = run_together(
        len(doctors),
        lambda i: clients[i].post(
            "/api/appointments/book/", {"doctor": doctors[i].doctor.id, "start": starts[i].isoformat()}, format="json"
        ),
    )

    codes = Counter(r.status_code if hasattr(r, "status_code") else repr(r) for r in responses)
    assert codes == {201: 2, 400: 10}, codes
    refusals = {r.json()["code"] for r in responses if r.status_code == 400}
    assert refusals == {"appointment_limit_reached"}
    assert Appointment.objects.filter(patient=alice.patient, status="booked").count() == 2


@pytest.mark.django_db(transaction=True)
def test_random_book_cancel_reschedule_never_overlaps(ada, clinic):
    set_policy("max_open_appointments_per_patient", 100)
    # Three doctors with different slot lengths, so one patient's slots overlap partially.
    doctors = [factories.DoctorFactory(email=f"d{i}@mix.test") for i in range(3)]
    for doctor, minutes in zip(doctors, (30, 45, 20), strict=True):
        _race_day_rule(doctor, ada, minutes=minutes, end=time(12))
    patients = [factories.PatientFactory(email=f"p{i}@mix.test") for i in range(8)]
    slots = {d.doctor.id: [s.start for s in free_slots(d)] for d in doctors}
    unexpected: list[BaseException] = []

    def chaos(index: int) -> Counter:
        rng = random.Random(index)
        outcome: Counter = Counter()
        for _ in range(25):
            patient = rng.choice(patients)
            doctor = rng.choice(doctors)
            op = rng.choice(["book", "book", "cancel", "move"])
            try:
                if op == "book":
                    services.appointment_book(
                        actor=patient, doctor=doctor.doctor, start=rng.choice(slots[doctor.doctor.id])
                    )
                else:
                    mine = list(Appointment.objects.filter(patient=patient.patient, status="booked")[:5])
                    if not mine:
                        continue
                    appointment = rng.choice(mine)
                    if op == "cancel":
                        services.appointment_cancel(actor=patient, appointment=appointment)
                    else:
                        services.appointment_update(
                            actor=patient, appointment=appointment, start=rng.choice(slots[appointment.doctor_id])
                        )
                outcome[f"{op}:ok"] += 1
            except DomainError as exc:
                outcome[f"{op}:{exc.code}"] += 1
            except Exception as exc:
                unexpected.append(exc)
        return outcome

    results = run_together(20, chaos)

    assert not unexpected, unexpected[:3]
    assert all(isinstance(r, Counter) for r in results), results
    totals = sum(results, Counter())
    assert totals["book:ok"] > 0 and totals["book:slot_unavailable"] > 0
    assert _scalar(OVERLAPS_SQL) == 0
    assert _scalar(SLOT_MISMATCH_SQL) == 0


@pytest.mark.django_db
def test_the_database_refuses_an_overlapping_row(alice, bob, carol, dave, clinic):
    start = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    factories.appointment_at(doctor=carol, patient=alice, start=start, minutes=30)
    insert = (
        "INSERT INTO scheduling_appointment "
        '(doctor_id, patient_id, start, "end", status, reason, created_at, updated_at) '
        "VALUES (%s, %s, %s, %s, 'booked', '', now(), now())"
    )
    # Same doctor, another patient, overlapping by 15 minutes.
    overlapping = [carol.doctor.id, bob.patient.id, start + timedelta(minutes=15), start + timedelta(minutes=45)]
    with (
        pytest.raises(IntegrityError, match="appointment_no_overlap_doctor"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(insert, overlapping)
    # Same patient, another doctor.
    with (
        pytest.raises(IntegrityError, match="appointment_no_overlap_patient"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(insert, [dave.doctor.id, alice.patient.id, start, start + timedelta(minutes=30)])
    # Back to back is fine.
    with connection.cursor() as cursor:
        cursor.execute(
            insert, [carol.doctor.id, bob.patient.id, start + timedelta(minutes=30), start + timedelta(hours=1)]
        )
    assert _scalar(OVERLAPS_SQL) == 0


@pytest.mark.django_db(transaction=True)
def test_rule_changes_racing_bookings_never_drop_a_booked_slot(ada, clinic):
    doctor = factories.DoctorFactory(email="d@race.test")
    weekday = _race_weekday()
    _race_day_rule(doctor, ada, end=time(17))
    patients = [factories.PatientFactory(email=f"p{i}@race.test") for i in range(8)]
    starts = [s.start for s in free_slots(doctor)]
    # Booked before the race: the editors' regenerations must leave these alone.
    kept = [services.appointment_book(actor=patients[i], doctor=doctor.doctor, start=starts.pop()) for i in range(2)]

    def work(index: int) -> Counter:
        outcome: Counter = Counter()
        for round_ in range(6):
            try:
                if index < 2:
                    # Two editors replace the day's rule again and again.
                    rule = doctor.doctor.availability_rules.filter(weekday=weekday).first()
                    if rule is not None:
                        services.rule_delete(actor=ada, rule=rule)
                    else:
                        _race_day_rule(doctor, ada, end=time(17))
                else:
                    patient = patients[index - 2]
                    services.appointment_book(
                        actor=patient, doctor=doctor.doctor, start=starts[(index * 6 + round_) % len(starts)]
                    )
                outcome["ok"] += 1
            except DomainError as exc:
                outcome[exc.code] += 1
        return outcome

    results = run_together(10, work)

    assert all(isinstance(r, Counter) for r in results), results
    for appointment in kept:
        appointment.refresh_from_db()
        assert appointment.status == "booked" and appointment.slot.status == SlotStatus.BOOKED
    active = Appointment.objects.filter(status="booked")
    assert not active.filter(slot__isnull=True).exists()
    assert _scalar(SLOT_MISMATCH_SQL) == 0
    assert _scalar(OVERLAPS_SQL) == 0
