"""Holds and waitlist offers, live on a portal's socket (contract §11 over §9)."""

from datetime import time, timedelta

import pytest
import time_machine
from channels.db import database_sync_to_async

from accounts.models import User
from clinic.clock import clinic_timezone, clinic_today
from realtime import topics
from scheduling import services as scheduling
from scheduling.models import Hold, Slot
from scheduling.serializers import clinic_iso
from tests import factories
from tests.clock import clinic_date
from tests.scheduling.helpers import free_slots
from waitlist import services as waitlist
from waitlist.models import WaitlistEntry

pytestmark = pytest.mark.django_db(transaction=True)


def _day_of_slots(doctor: User, admin: User) -> list[Slot]:
    # The clinic's day after tomorrow: a day's notice at any hour, in any clinic time zone.
    scheduling.rule_create(
        actor=admin,
        doctor=doctor.doctor,
        weekday=(clinic_today() + timedelta(days=2)).weekday(),
        start_time=time(9),
        end_time=time(11),
        slot_minutes=30,
    )
    return free_slots(doctor)


def _slot_data(slot: Slot) -> dict:
    return {"doctor": slot.doctor_id, "start": clinic_iso(slot.start), "end": clinic_iso(slot.end)}


async def test_a_portal_sees_a_hold_then_its_expiry(socket, token_of, alice, bob, carol, ada):
    slots = await database_sync_to_async(_day_of_slots)(carol, ada)
    watcher = await socket(token=await token_of(bob))
    await watcher.subscribe(topics.doctor_availability(carol.doctor.pk))

    hold = await database_sync_to_async(scheduling.hold_create)(actor=alice, doctor=carol.doctor, start=slots[0].start)
    [held] = await watcher.events(1)
    assert (held["event"], held["data"]) == ("slot.held", _slot_data(slots[0]))

    with time_machine.travel(hold.expires_at - timedelta(seconds=1), tick=False):
        assert await database_sync_to_async(scheduling.holds_expire_due)() == 0
    assert await watcher.nothing()
    with time_machine.travel(hold.expires_at, tick=False):
        assert await database_sync_to_async(scheduling.holds_expire_due)() == 1
    [released] = await watcher.events(1)
    assert (released["event"], released["data"]) == ("slot.released", _slot_data(slots[0]))
    assert released["id"] > held["id"]


async def test_a_waitlisted_patient_is_offered_the_freed_slot_and_books_it_live(
    socket, token_of, alice, bob, carol, ada
):
    slots = await database_sync_to_async(_day_of_slots)(carol, ada)
    slot = slots[1]
    booking = await database_sync_to_async(scheduling.appointment_book)(
        actor=bob, doctor=carol.doctor, start=slot.start
    )
    carlos = await database_sync_to_async(factories.PatientFactory)(email="carlos@example.test")
    entry = await database_sync_to_async(waitlist.entry_join)(
        actor=carlos,
        doctor=carol.doctor,
        first_day=clinic_date(slot.start),
        last_day=clinic_date(slot.start),
        earliest_time=slot.start.astimezone(clinic_timezone()).time(),
        latest_time=slot.end.astimezone(clinic_timezone()).time(),
    )
    portal = await socket(token=await token_of(alice))
    await portal.subscribe(topics.doctor_availability(carol.doctor.pk))
    phone = await socket(token=await token_of(carlos))
    await phone.subscribe(topics.user_notifications(carlos.pk))

    await database_sync_to_async(scheduling.appointment_cancel)(actor=bob, appointment=booking)
    released, held = await portal.events(2)
    assert [released["event"], held["event"]] == ["slot.released", "slot.held"]
    assert released["data"] == held["data"] == _slot_data(slot)
    [offer] = await phone.events(1)
    assert offer["event"] == "notification.created" and offer["data"]["kind"] == "waitlist_offer"

    entry = await WaitlistEntry.objects.aget(pk=entry.pk)
    appointment = await database_sync_to_async(waitlist.offer_accept)(actor=carlos, entry=entry)
    [booked] = await portal.events(1)
    assert (booked["event"], booked["data"]) == ("slot.booked", _slot_data(slot))
    assert appointment.patient_id == carlos.patient.pk
    assert not await Hold.objects.filter(status="active").aexists()
