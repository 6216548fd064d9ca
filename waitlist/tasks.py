"""The waitlist's background work: thin tasks that call services."""

import logging

from celery import shared_task

from waitlist import selectors, services

logger = logging.getLogger(__name__)


@shared_task(name="waitlist.tasks.offer_free_slots", acks_late=True)
def offer_free_slots(doctor_id: int) -> int:
    """A doctor's calendar opened: offer what matches to the waiting entries (idempotent)."""
    return services.offers_make(doctor_id=doctor_id)


@shared_task(name="waitlist.tasks.sweep", acks_late=True)
def sweep() -> int:
    """Beat: expire entries whose days have passed, then run every waited-for doctor's pass.

    The pass is what the freed-slot task runs; here it catches what a lost task missed.
    """
    services.entries_expire_past()
    made = 0
    for doctor_id in selectors.doctors_waited_for():
        made += services.offers_make(doctor_id=doctor_id)
    if made:
        logger.info("waitlist sweep made %s offers", made)
    return made
