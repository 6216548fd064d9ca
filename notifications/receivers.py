"""How notifications takes part in changes made below it (connected in NotificationsConfig.ready).

- An account is deactivated (accounts): the addresses its notifications went to are
  erased, in the same transaction.
- An appointment is booked, moved or cancelled (scheduling, after commit): the patient
  is told.
"""

from typing import Any

from accounts.signals import user_deactivated
from notifications.services import appointment_notify, notifications_forget_user
from scheduling.signals import appointment_changed


def _forget_user(sender: Any, *, user: Any, **kwargs: Any) -> None:
    notifications_forget_user(user=user)


def _tell_patient(sender: Any, *, appointment_id: int, kind: str, **kwargs: Any) -> None:
    appointment_notify(appointment_id=appointment_id, kind=kind)


def connect() -> None:
    user_deactivated.connect(_forget_user, dispatch_uid="notifications.forget_user")
    appointment_changed.connect(_tell_patient, dispatch_uid="notifications.tell_patient")
