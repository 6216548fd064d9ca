"""What scheduling announces to the apps built on it, without importing them.

Scheduling imports none of those apps (dependencies run one way); they connect their
own receivers in their AppConfig.ready (`notifications/receivers.py`,
`waitlist/receivers.py`).

- `appointment_changed(appointment_id, kind)`: sent after the transaction that booked,
  moved or cancelled an appointment commits (`kind`: "booked", "rescheduled" or
  "cancelled"). A rolled-back change announces nothing.
- `slots_opened(doctor_id)`: sent after the transaction commits, when free time may have
  appeared on a doctor's calendar: an appointment cancelled or moved away, a hold released
  or expired, a rule or time off changed. The waitlist listens and offers the time to the
  patients waiting for it.
- `hold_ended(hold, outcome)`: sent inside the transaction that ends a hold (`outcome` is
  the hold's new status: booked, released, expired or withdrawn), so that an app whose
  rows follow a hold (the waitlist's offers) changes them in that same transaction.
"""

import logging
from functools import partial

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

appointment_changed = Signal()
slots_opened = Signal()
hold_ended = Signal()


def _send_slots_opened(doctor_id: int) -> None:
    for receiver, outcome in slots_opened.send_robust(sender=None, doctor_id=doctor_id):
        if isinstance(outcome, Exception):
            logger.error("slots_opened receiver %r failed for doctor %s", receiver, doctor_id, exc_info=outcome)


def announce_slots_opened(doctor_id: int) -> None:
    """Send `slots_opened` once the surrounding transaction has committed.

    Robust: a listener's failure is logged, never turned into an error of the committed
    change; the waitlist's periodic sweep makes up for a lost announcement.
    """
    transaction.on_commit(partial(_send_slots_opened, doctor_id), robust=True)
