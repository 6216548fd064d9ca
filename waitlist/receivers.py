"""The waitlist listens to scheduling (which may not import it): connected in WaitlistConfig.ready."""

from typing import Any

from scheduling import signals
from scheduling.models import Hold


def _slots_opened(sender: Any, *, doctor_id: int, **kwargs: Any) -> None:
    from waitlist.tasks import offer_free_slots

    offer_free_slots.delay(doctor_id)


def _hold_ended(sender: Any, *, hold: Hold, outcome: str, **kwargs: Any) -> None:
    from waitlist.services import offer_follow_hold

    offer_follow_hold(hold=hold, outcome=outcome)


def connect() -> None:
    signals.slots_opened.connect(_slots_opened, dispatch_uid="waitlist-slots-opened")
    signals.hold_ended.connect(_hold_ended, dispatch_uid="waitlist-hold-ended")
