"""Holds (contract §11): a free slot kept for one patient for a few minutes while they confirm.

Concurrency: a hold takes the locks a booking takes, in the same order (patient → slot →
the slot's hold row), under the same lock timeout (`races.as_conflict`): of fifty patients
holding one slot one wins and the others find it held (409). PostgreSQL backs this up
whatever the code does (the `hold` migration): one active hold per slot and per patient, no
overlapping active holds of one doctor, and an active hold pins its slot to "free", so the
slot cannot be booked, blocked or deleted while the hold lasts.

Expiry is to the second: once `expires_at` has come the hold no longer counts, for
availability and for every write. Whichever write next locks the slot ends it
(`hold_state.live_hold_on`); the expiry task queued for `expires_at` and the beat sweep
(`holds_expire_due`) end the ones nobody touched, announce `slot.released` and open the
slot to the waitlist (`signals.slots_opened`).
"""

import logging
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.utils import timezone

from accounts.models import Doctor, Patient, User
from accounts.policy import Overrides
from audit.services import audit_record
from clinic.registry import clinic_setting
from scheduling import events
from scheduling.models import Hold, HoldStatus, Slot, SlotStatus
from scheduling.services.booking import book_for, check_open_cap, check_patient_free, check_slot_window
from scheduling.services.errors import InvalidSlot, SlotUnavailable
from scheduling.services.hold_state import end_and_free, ended, live_hold_on, unpin
from scheduling.services.races import as_conflict, lock_patient

logger = logging.getLogger(__name__)


def _schedule_expiry(hold_id: int, expires_at: datetime) -> None:
    from scheduling.tasks import expire_hold

    expire_hold.apply_async((hold_id,), eta=expires_at)


def _lock_slot(*, doctor: Doctor, start: datetime) -> Slot:
    slot = Slot.objects.select_for_update().filter(doctor=doctor, start=start).first()
    if slot is None or slot.status == SlotStatus.BLOCKED:
        raise InvalidSlot()
    if slot.status != SlotStatus.FREE:
        raise SlotUnavailable()
    return slot


def _place(*, actor: User | None, patient: Patient, slot: Slot, minutes: int, now: datetime) -> Hold:
    # Never past the slot's start: a hold on a slot that has begun keeps nothing.
    expires_at = min(now + timedelta(minutes=minutes), slot.start)
    hold = Hold.objects.create(
        slot=slot,
        doctor_id=slot.doctor_id,
        patient=patient,
        start=slot.start,
        end=slot.end,
        expires_at=expires_at,
        slot_status=SlotStatus.FREE,
        created_by=actor,
        created_at=now,
    )
    audit_record(
        actor=actor,
        action="hold.created",
        obj=hold,
        details={
            "doctor": slot.doctor_id,
            "patient": patient.pk,
            "start": slot.start.isoformat(),
            "expires_at": expires_at.isoformat(),
        },
    )
    events.slot_held(slot)
    # The expiry task ends the hold at its second; the beat sweep is the safety net.
    transaction.on_commit(partial(_schedule_expiry, hold.pk, expires_at), robust=True)
    return hold


def _replace_patients_hold(*, patient: Patient, keep_slot: Slot, actor: User, now: datetime) -> None:
    """A patient has at most one hold: a new one ends the old (the patient's row is locked)."""
    previous = Hold.objects.select_for_update().filter(patient=patient, status=HoldStatus.ACTIVE).first()
    if previous is None:
        return
    outcome = HoldStatus.RELEASED if previous.is_live(now) else HoldStatus.EXPIRED
    if previous.slot_id == keep_slot.pk:
        # Held again by the same patient: the slot never becomes free in between.
        unpin(previous, outcome=outcome, now=now)
        ended(previous, actor=actor)
    else:
        end_and_free(previous, outcome=outcome, actor=actor, now=now)


def hold_create(*, actor: User, doctor: Doctor, start: datetime, patient: Patient | None = None) -> Hold:
    """Hold the free slot of `doctor` at `start` for a patient for `hold_minutes`.

    The same rules as booking (a patient for themself within the notice and the horizon;
    staff and admin for any patient). A patient's earlier hold is replaced. 409
    `slot_unavailable` when the slot is booked or held by someone else.
    """
    patient = book_for(actor=actor, patient=patient)
    if not doctor.is_approved:
        raise InvalidSlot("This doctor is not taking bookings.")

    def hold() -> Hold:
        check_slot_window(start=start, overrides=Overrides(actor))
        # The booking's lock order: the patient (one hold per patient), then the slot.
        lock_patient(patient.pk)
        slot = _lock_slot(doctor=doctor, start=start)
        now = timezone.now()
        current = live_hold_on(slot, now)
        if current is not None and current.patient_id != patient.pk:
            raise SlotUnavailable("That slot is held by someone else for a few minutes.")
        check_patient_free(patient=patient, start=slot.start, end=slot.end)
        _replace_patients_hold(patient=patient, keep_slot=slot, actor=actor, now=now)
        return _place(actor=actor, patient=patient, slot=slot, minutes=clinic_setting("hold_minutes"), now=now)

    return as_conflict(hold)


def hold_offer(*, doctor: Doctor, start: datetime, patient: Patient, minutes: int) -> Hold:
    """Hold a free slot for a patient on the platform's initiative (the waitlist's offer).

    Unlike `hold_create` it never replaces the patient's own hold, and it holds only what
    the patient could then book themself: past the minimum notice, no clash with their
    other appointments, within their open-appointment cap. 409 `slot_unavailable` (or the
    booking's own 400s) when it cannot; nothing is written then.
    """

    def offer() -> Hold:
        # Only what the patient could book themself: their rules, none overridden.
        as_patient = Overrides(patient.user)
        check_slot_window(start=start, overrides=as_patient)
        lock_patient(patient.pk)
        slot = _lock_slot(doctor=doctor, start=start)
        now = timezone.now()
        if live_hold_on(slot, now) is not None:
            raise SlotUnavailable("That slot is held.")
        own = Hold.objects.select_for_update().filter(patient=patient, status=HoldStatus.ACTIVE).first()
        if own is not None:
            if own.is_live(now):
                raise SlotUnavailable("The patient is holding another slot.")
            end_and_free(own, outcome=HoldStatus.EXPIRED, actor=None, now=now)
        check_patient_free(patient=patient, start=slot.start, end=slot.end)
        check_open_cap(patient=patient, overrides=as_patient)
        return _place(actor=None, patient=patient, slot=slot, minutes=minutes, now=now)

    return as_conflict(offer)


def hold_release(*, actor: User | None, hold: Hold) -> None:
    """End a hold now (its patient, staff, admin): the slot is free again at once.

    Releasing a hold that has already ended changes nothing.
    """

    def release() -> None:
        if hold.slot_id is not None:
            Slot.objects.select_for_update().filter(pk=hold.slot_id).first()
        locked = Hold.objects.select_for_update().get(pk=hold.pk)
        if locked.status != HoldStatus.ACTIVE:
            return
        now = timezone.now()
        outcome = HoldStatus.RELEASED if locked.is_live(now) else HoldStatus.EXPIRED
        end_and_free(locked, outcome=outcome, actor=actor, now=now)

    as_conflict(release)


def hold_expire(*, hold_id: int) -> bool:
    """End one hold whose time has come; False when it is still live or already ended."""

    def expire() -> bool:
        slot_id = Hold.objects.filter(pk=hold_id).values_list("slot_id", flat=True).first()
        if slot_id is not None:
            Slot.objects.select_for_update().filter(pk=slot_id).first()
        hold = Hold.objects.select_for_update().filter(pk=hold_id, status=HoldStatus.ACTIVE).first()
        now = timezone.now()
        if hold is None or hold.is_live(now):
            return False
        end_and_free(hold, outcome=HoldStatus.EXPIRED, actor=None, now=now)
        return True

    return as_conflict(expire)


def holds_expire_due(*, batch: int = 500) -> int:
    """The beat sweep: end every active hold whose time has come, each in its own transaction."""
    due = list(
        Hold.objects.filter(status=HoldStatus.ACTIVE, expires_at__lte=timezone.now())
        .order_by("expires_at", "id")
        .values_list("pk", flat=True)[:batch]
    )
    expired = 0
    for hold_id in due:
        try:
            expired += hold_expire(hold_id=hold_id)
        except SlotUnavailable:
            # A booking or a new hold has the slot locked and will end the hold itself.
            logger.info("hold %s: its slot is busy; left to the write holding it", hold_id)
    return expired
