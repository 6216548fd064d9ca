"""Scheduling's background work: thin tasks that call services."""

import logging

from celery import shared_task

from accounts.models import Doctor
from scheduling import selectors, services

logger = logging.getLogger(__name__)


@shared_task(name="scheduling.tasks.extend_slots")
def extend_slots() -> int:
    """Hourly (beat): one task per doctor with rules, extending their slots to the horizon.

    Within an hour of the clinic's midnight, whatever its zone, the new last day of the
    horizon has its slots.
    """
    doctor_ids = selectors.doctors_with_rules()
    for doctor_id in doctor_ids:
        extend_doctor_slots.delay(doctor_id)
    logger.info("extending slots of %s doctors", len(doctor_ids))
    return len(doctor_ids)


@shared_task(name="scheduling.tasks.extend_doctor_slots")
def extend_doctor_slots(doctor_id: int) -> None:
    doctor = Doctor.objects.filter(pk=doctor_id).first()
    if doctor is not None:
        services.slots_regenerate(doctor=doctor)


@shared_task(name="scheduling.tasks.expire_hold", acks_late=True)
def expire_hold(hold_id: int) -> bool:
    """Queued for a hold's `expires_at`: ends it then, if nothing has yet."""
    return services.hold_expire(hold_id=hold_id)


@shared_task(name="scheduling.tasks.expire_holds", acks_late=True)
def expire_holds() -> int:
    """Beat: end every hold whose time has come (behind the per-hold task, which may be lost)."""
    return services.holds_expire_due()
