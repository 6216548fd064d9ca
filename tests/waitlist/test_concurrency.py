"""Offers under concurrency (PostgreSQL, real threads): each freed slot to exactly one entry,
no entry with two offers, first come first served."""

from collections import Counter
from datetime import datetime, time

import pytest
from django.db import connection

from clinic.clock import clinic_timezone
from scheduling import services as scheduling
from scheduling.models import Hold, HoldStatus, Slot
from tests import factories
from tests.concurrency import run_together
from tests.scheduling.helpers import free_slots
from tests.scheduling.test_concurrency import _race_day_rule
from waitlist import services
from waitlist.models import EntryStatus, Offer, OfferStatus, WaitlistEntry

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="locking is tested on PostgreSQL")

SLOTS = 20
ENTRIES = 30


def _window(slots: list[Slot], first: int, length: int) -> tuple[time, time]:
    tz = clinic_timezone()
    last = min(first + length, len(slots)) - 1
    return slots[first].start.astimezone(tz).time(), slots[last].end.astimezone(tz).time()


def _matches(entry: WaitlistEntry, slot: Slot) -> bool:
    # Every entry of this race has both times.
    assert entry.earliest_time is not None and entry.latest_time is not None
    tz = clinic_timezone()
    start, end = slot.start.astimezone(tz), slot.end.astimezone(tz)
    return (
        entry.first_day <= start.date() <= entry.last_day
        and start.time() >= entry.earliest_time
        and end <= datetime.combine(start.date(), entry.latest_time, tzinfo=tz)
    )


@pytest.mark.django_db(transaction=True)
def test_twenty_cancellations_thirty_overlapping_entries(carol, ada, clinic):
    # One day of twenty 30-minute slots (09:00-19:00), every one booked.
    _race_day_rule(carol, ada, end=time(19))
    slots = free_slots(carol)[:SLOTS]
    assert len(slots) == SLOTS
    bookers = [factories.PatientFactory(email=f"b{i}@line.test") for i in range(SLOTS)]
    appointments = [
        scheduling.appointment_book(actor=booker, doctor=carol.doctor, start=slot.start)
        for booker, slot in zip(bookers, slots, strict=True)
    ]
    # Thirty patients join in turn, each for a window of 4 to 12 slots, the windows
    # overlapping: every slot is wanted by several entries, in different orders.
    day = slots[0].start.astimezone(clinic_timezone()).date()
    entries = []
    for number in range(ENTRIES):
        earliest, latest = _window(slots, (number * 7) % SLOTS, 4 + (number % 5) * 2)
        entries.append(
            services.entry_join(
                actor=factories.PatientFactory(email=f"w{number}@line.test"),
                doctor=carol.doctor,
                first_day=day,
                last_day=day,
                earliest_time=earliest,
                latest_time=latest,
            )
        )
    assert not Offer.objects.exists()

    results = run_together(
        SLOTS, lambda i: scheduling.appointment_cancel(actor=bookers[i], appointment=appointments[i])
    )

    assert all(getattr(r, "status", None) == "cancelled" for r in results), results
    entries = list(WaitlistEntry.objects.order_by("created_at", "id"))
    offers = list(Offer.objects.filter(status=OfferStatus.OPEN).select_related("hold"))
    # Each freed slot is offered at most once, as one active hold of the offered patient.
    per_slot = Counter(offer.start for offer in offers)
    assert all(count == 1 for count in per_slot.values()), per_slot
    assert Hold.objects.filter(status=HoldStatus.ACTIVE).count() == len(offers)
    for offer in offers:
        assert offer.hold.status == HoldStatus.ACTIVE and offer.hold.patient_id == offer.entry.patient_id
    # No entry holds two offers; an entry is offered exactly when it has its open offer.
    per_entry = Counter(offer.entry_id for offer in offers)
    assert all(count == 1 for count in per_entry.values()), per_entry
    offered = {entry.pk for entry in entries if entry.status == EntryStatus.OFFERED}
    assert offered == set(per_entry)
    # First come, first served: an entry got a slot only if every earlier entry that
    # wanted that slot got one too.
    position = {entry.pk: index for index, entry in enumerate(entries)}
    by_start = {slot.start: slot for slot in slots}
    for offer in offers:
        slot = by_start[offer.start]
        for earlier in entries[: position[offer.entry_id]]:
            if _matches(earlier, slot):
                assert earlier.pk in offered, (offer.entry_id, earlier.pk, slot.start)
    # Nothing is left behind: no free, unheld slot is wanted by an entry still waiting.
    free = [slot for slot in slots if slot.start not in per_slot]
    for slot in free:
        assert not [e.pk for e in entries if e.status == EntryStatus.WAITING and _matches(e, slot)], slot.start
    assert len(offers) > SLOTS // 2, len(offers)
