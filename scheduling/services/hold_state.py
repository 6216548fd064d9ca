"""How a hold ends: the one place a hold's status changes after it is made.

Booking, moving, holding, releasing, the expiry sweep and slot regeneration all end
holds through these functions, so every end is audited, tells the apps that follow holds
(`signals.hold_ended`: the waitlist's offers) in the same transaction, and, where the
slot stays free, says so (`slot.released`) and opens it to the waitlist.
"""

from datetime import datetime

from accounts.models import User
from audit.services import audit_record
from core.queries import Compiled
from scheduling import events, signals
from scheduling.models import Appointment, Hold, HoldStatus, Slot

# Asked by every booking: compiled once (core.queries.Compiled).
_live_hold = Compiled(
    lambda slot_id: Hold.objects.select_for_update().filter(slot_id=slot_id, status=HoldStatus.ACTIVE)
)


def live_hold_on(slot: Slot, now: datetime) -> Hold | None:
    """The slot's live hold, if any; the caller holds the slot's row lock.

    An active hold whose time has passed is ended here (expired) first: from its
    `expires_at` on the slot is free, whether or not the sweep has come by. No
    `slot.released` is sent for it: the caller is about to take the slot.
    """
    hold = _live_hold.first(slot.pk)
    if hold is None or hold.is_live(now):
        return hold
    unpin(hold, outcome=HoldStatus.EXPIRED, now=now)
    ended(hold, actor=None)
    return None


def unpin(hold: Hold, *, outcome: str, now: datetime) -> None:
    """End the hold in the database: it stops pinning its slot, which may change after this."""
    hold.status = outcome
    hold.slot_status = None
    hold.ended_at = now
    hold.save(update_fields=["status", "slot_status", "ended_at"])


def ended(hold: Hold, *, actor: User | None, appointment: Appointment | None = None) -> None:
    """Record an unpinned hold's end: the audit entry, and the apps that follow holds."""
    details = {"doctor": hold.doctor_id, "patient": hold.patient_id, "start": hold.start.isoformat()}
    if appointment is not None:
        hold.appointment = appointment
        hold.save(update_fields=["appointment"])
        details["appointment"] = appointment.pk
    audit_record(actor=actor, action=f"hold.{hold.status}", obj=hold, details=details)
    signals.hold_ended.send(sender=Hold, hold=hold, outcome=hold.status)


def end_and_free(hold: Hold, *, outcome: str, actor: User | None, now: datetime) -> None:
    """End a hold whose slot stays free: tell the slot's watchers and the waitlist."""
    unpin(hold, outcome=outcome, now=now)
    ended(hold, actor=actor)
    if hold.slot_id is not None:
        events.hold_released(hold)
        signals.announce_slots_opened(hold.doctor_id)


def holds_withdraw(*, slot_ids: list[int], now: datetime) -> int:
    """The slots are about to go (a rule removed) or be blocked (time off): end their holds.

    Called by slot regeneration with the slots already locked. No `slot.released`: the
    slots are not free; `availability.changed` tells the watchers.
    """
    holds = list(Hold.objects.select_for_update().filter(slot_id__in=slot_ids, status=HoldStatus.ACTIVE).order_by("pk"))
    for hold in holds:
        unpin(hold, outcome=HoldStatus.WITHDRAWN, now=now)
        ended(hold, actor=None)
    return len(holds)
