"""Holds under concurrency (PostgreSQL, real threads, own connections): one slot, one holder."""

from collections import Counter
from datetime import time, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection

from clinic.clock import clinic_timezone
from core.exceptions import DomainError
from scheduling import services
from scheduling.models import Appointment, Hold, HoldStatus
from tests import factories
from tests.clock import clinic_date
from tests.concurrency import run_together
from tests.scheduling.helpers import free_slots
from tests.scheduling.test_concurrency import SLOT_MISMATCH_SQL, _client, _race_day_rule, _scalar
from waitlist import services as waitlist
from waitlist.models import Offer

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="locking is tested on PostgreSQL")

# No slot is ever both held (an active hold) and booked (an active appointment).
HELD_AND_BOOKED_SQL = """
    SELECT count(*) FROM scheduling_hold h
    JOIN scheduling_appointment a ON a.slot_id = h.slot_id
    WHERE h.status = 'active' AND a.status IN ('booked', 'checked_in', 'in_progress')
"""


def _outcome(result: Any) -> str:
    if isinstance(result, DomainError):
        return result.code
    if isinstance(result, Exception):
        return repr(result)
    return "ok"


@pytest.mark.django_db(transaction=True)
def test_fifty_patients_holding_one_slot_exactly_one_hold(carol, ada, clinic):
    _race_day_rule(carol, ada)
    slot = free_slots(carol)[0]
    clients = [_client(factories.PatientFactory(email=f"p{i}@fifty-holds.test")) for i in range(50)]
    body = {"doctor": carol.doctor.id, "start": slot.start.isoformat()}

    responses = run_together(50, lambda i: clients[i].post("/api/holds/", body, format="json"))

    codes = Counter(r.status_code if hasattr(r, "status_code") else repr(r) for r in responses)
    assert codes == {201: 1, 409: 49}, codes
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"slot_unavailable"}
    (winner,) = [r.json() for r in responses if r.status_code == 201]
    assert list(Hold.objects.filter(slot=slot, status=HoldStatus.ACTIVE).values_list("pk", flat=True)) == [winner["id"]]


@pytest.mark.django_db(transaction=True)
def test_a_hold_against_a_concurrent_booking_exactly_one_wins(carol, ada, clinic):
    _race_day_rule(carol, ada, end=time(14))
    slots = free_slots(carol)[:10]
    holders = [factories.PatientFactory(email=f"h{i}@versus.test") for i in range(10)]
    bookers = [factories.PatientFactory(email=f"b{i}@versus.test") for i in range(10)]

    def race(index: int) -> Any:
        slot = slots[index // 2]
        if index % 2 == 0:
            return services.hold_create(actor=holders[index // 2], doctor=carol.doctor, start=slot.start)
        return services.appointment_book(actor=bookers[index // 2], doctor=carol.doctor, start=slot.start)

    results = run_together(20, race)

    for number, slot in enumerate(slots):
        pair = [_outcome(results[2 * number]), _outcome(results[2 * number + 1])]
        assert sorted(pair) == ["ok", "slot_unavailable"], (number, pair)
        held = Hold.objects.filter(slot=slot, status=HoldStatus.ACTIVE).count()
        booked = Appointment.objects.filter(slot=slot, status="booked").count()
        assert held + booked == 1, (number, held, booked)
    assert _scalar(HELD_AND_BOOKED_SQL) == 0
    assert _scalar(SLOT_MISMATCH_SQL) == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("offset", [timedelta(0), timedelta(microseconds=-1)], ids=["at-expiry", "just-before"])
def test_hold_expiry_against_booking_at_the_same_instant_never_both(carol, ada, clinic, offset):
    """With the clock frozen at the hold's last instant or its expiry: the sweep (which would
    pass the slot to a waiting patient), a booking by someone else and the holder's own
    booking race; the slot ends up with exactly one owner, never a hold beside a booking."""
    _race_day_rule(carol, ada, end=time(12))
    slots = free_slots(carol)[:5]
    holders = [factories.PatientFactory(email=f"h{i}@expiry.test") for i in range(5)]
    bookers = [factories.PatientFactory(email=f"b{i}@expiry.test") for i in range(5)]
    waiting = [factories.PatientFactory(email=f"w{i}@expiry.test") for i in range(5)]
    holds = [
        services.hold_create(actor=holder, doctor=carol.doctor, start=slot.start)
        for holder, slot in zip(holders, slots, strict=True)
    ]
    for patient, slot in zip(waiting, slots, strict=True):
        waitlist.entry_join(
            actor=patient,
            doctor=carol.doctor,
            first_day=clinic_date(slot.start),
            last_day=clinic_date(slot.start),
            earliest_time=slot.start.astimezone(clinic_timezone()).time(),
            latest_time=slot.end.astimezone(clinic_timezone()).time(),
        )
    instant = holds[0].expires_at + offset
    Hold.objects.filter(pk__in=[h.pk for h in holds]).update(expires_at=holds[0].expires_at)

    def race(index: int) -> Any:
        number, role = divmod(index, 3)
        slot = slots[number]
        if role == 0:
            return services.hold_expire(hold_id=holds[number].pk) and waitlist.offers_make(doctor_id=carol.doctor.pk)
        patient = bookers[number] if role == 1 else holders[number]
        return services.appointment_book(actor=patient, doctor=carol.doctor, start=slot.start)

    with time_machine.travel(instant, tick=False):
        results = run_together(15, race)

    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, DomainError)], results
    for number, slot in enumerate(slots):
        live_holds = list(Hold.objects.filter(slot=slot, status=HoldStatus.ACTIVE))
        booked = list(Appointment.objects.filter(slot=slot, status="booked"))
        assert len(live_holds) + len(booked) == 1, (number, live_holds, booked)
        if offset < timedelta(0):
            # Before expiry the hold stands: only its own patient could book.
            assert [a.patient_id for a in booked] in ([], [holders[number].patient.id])
            assert _outcome(results[3 * number + 1]) == "slot_unavailable"
        if live_holds:
            assert live_holds[0].patient_id in (holders[number].patient.id, waiting[number].patient.id)
    assert _scalar(HELD_AND_BOOKED_SQL) == 0
    assert _scalar(SLOT_MISMATCH_SQL) == 0
    assert (
        Offer.objects.filter(status="open").count()
        == Hold.objects.filter(status=HoldStatus.ACTIVE, patient__in=[p.patient for p in waiting]).count()
    )
