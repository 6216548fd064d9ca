"""Races become 409: the transaction, lock timeout and error mapping every booking write runs in.

PostgreSQL's exclusion constraints (migration 0002) refuse overlapping active
appointments per doctor and per patient whatever the services do; a violation, a
deadlock or a lock timeout becomes 409 `slot_unavailable`, never 500.
"""

import logging
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, IntegrityError, OperationalError, connection, transaction

from accounts.models import Doctor, Patient
from core.queries import Compiled
from scheduling.models import Appointment
from scheduling.services.errors import SlotUnavailable

logger = logging.getLogger(__name__)

PATIENT_BUSY = "The patient already has an appointment at that time."

T = TypeVar("T")

# PostgreSQL SQLSTATEs that mean "someone else got there first": retrying later may work.
_LOST_RACE_SQLSTATES = {
    "40001",  # serialization_failure
    "40P01",  # deadlock_detected
    "55P03",  # lock_not_available (lock_timeout)
}


def _lost_race(exc: DatabaseError) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    if sqlstate in _LOST_RACE_SQLSTATES:
        return True
    # SQLite, the embedded default, reports a busy writer this way.
    return connection.vendor == "sqlite" and "locked" in str(exc).lower()


# The exclusion constraint (migration 0002) that refuses a patient two appointments at once.
_PATIENT_OVERLAP = "appointment_no_overlap_patient"


def _patient_busy(exc: DatabaseError) -> bool:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == _PATIENT_OVERLAP


def as_conflict(work: Callable[[], T]) -> T:
    """Run `work` in its own transaction (or savepoint); a lost race is 409 `slot_unavailable`."""
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Waiting long on a contended slot helps nobody: fail fast, answer 409.
                with connection.cursor() as cursor:
                    cursor.execute(f"SET LOCAL lock_timeout = '{int(settings.SCHEDULING_LOCK_TIMEOUT_MS)}ms'")
            return work()
    except (IntegrityError, OperationalError) as exc:
        if not _lost_race(exc):
            raise
        logger.info("booking lost a race: %s", getattr(exc.__cause__, "sqlstate", None) or exc)
        if _patient_busy(exc):
            raise SlotUnavailable(PATIENT_BUSY, reason="patient_busy") from exc
        raise SlotUnavailable() from exc


def lock_appointment(appointment: Appointment) -> Appointment:
    return Appointment.objects.select_for_update().get(pk=appointment.pk)


# Every booking takes it: compiled once (core.queries.Compiled).
_patient_row = Compiled(lambda pk: Patient.objects.select_for_update(no_key=True).filter(pk=pk))


def lock_patient(patient_id: int) -> None:
    """Serialise one patient's bookings, holds and moves (the open-appointment cap, "not
    twice at once") on the patient's row.

    NO KEY UPDATE, not UPDATE: it serialises what takes this lock and nothing else. Rows
    that refer to the patient (an appointment, a hold, a waitlist entry) take KEY SHARE on
    the patient's row when their foreign key is checked (Django's are checked at commit),
    and need not wait for another transaction's booking of the same patient.
    """
    _patient_row.first(patient_id)


def lock_doctor(doctor_id: int) -> None:
    """Serialise changes to one doctor's schedule (rules, time off, slot regeneration,
    queue numbers) on the doctor's row.

    NO KEY UPDATE, not UPDATE: a booking's foreign-key check on the doctor (KEY SHARE, while
    it holds its slot) must not wait for a change that waits for that slot (a deadlock).
    """
    Doctor.objects.select_for_update(no_key=True).filter(pk=doctor_id).first()
