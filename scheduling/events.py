"""Every realtime event scheduling publishes: one function per event, the only place
their payloads are built (as Saleor's `order/events.py`).

Each function is called inside the write's transaction; `realtime.publish` stores the
event in the outbox there and hands it to the channel layer after commit. The queue
payloads are also what GET /api/doctors/{id}/queue/ and the display page show, so a
screen that loads the page and then listens sees one shape.
"""

from datetime import date, datetime
from typing import Any

from realtime import topics
from realtime.publish import publish
from scheduling.models import Appointment, AppointmentStatus, Hold, Slot
from scheduling.serializers import AppointmentSerializer, clinic_iso

_QUEUE_STATUSES = (AppointmentStatus.CHECKED_IN, AppointmentStatus.IN_PROGRESS, AppointmentStatus.COMPLETED)


def availability_changed(*, doctor_id: int, window_start: datetime, window_end: datetime) -> None:
    """The doctor's slots between the two times changed (rules, exceptions, regeneration)."""
    publish(
        topic=topics.doctor_availability(doctor_id),
        event="availability.changed",
        data={"doctor": doctor_id, "from": clinic_iso(window_start), "to": clinic_iso(window_end)},
    )


def slot_booked(slot: Slot) -> None:
    _publish_slot("slot.booked", slot)


def slot_released(slot: Slot) -> None:
    _publish_slot("slot.released", slot)


def slot_held(slot: Slot) -> None:
    """A patient holds the slot for a few minutes (contract §11): taken for everyone else."""
    _publish_slot("slot.held", slot)


def hold_released(hold: Hold) -> None:
    """A hold ended (released, expired) and its slot is free again: `slot.released`."""
    _publish_slot("slot.released", hold)


def _publish_slot(event: str, slot: Slot | Hold) -> None:
    # A hold carries its slot's doctor and times, so an ended hold (its slot perhaps
    # gone) says the same as the slot would.
    publish(
        topic=topics.doctor_availability(slot.doctor_id),
        event=event,
        data={"doctor": slot.doctor_id, "start": clinic_iso(slot.start), "end": clinic_iso(slot.end)},
    )


def queue_updated(*, doctor_id: int, day: date) -> None:
    """The doctor's queue of that clinic day changed: to the doctor's topic and to screens."""
    queue = queue_payload(doctor_id=doctor_id, day=day)
    publish(topic=topics.doctor_queue(doctor_id), event="queue.updated", data=queue)
    publish(topic=topics.display_doctor(doctor_id), event="queue.updated", data=display_payload(queue))


def queue_payload(*, doctor_id: int, day: date) -> dict[str, Any]:
    """The queue of one doctor's clinic day, as GET /api/doctors/{id}/queue/ returns it.

    `now_serving`: the appointment in progress (the lowest number if several);
    `waiting`: checked-in appointments in queue order; `done`: completed ones. Entries carry
    `patient_name`: the queue topic and endpoint are the doctor's, staff's and admin's only.
    """
    queued = list(
        Appointment.objects.filter(doctor_id=doctor_id, queue_date=day, status__in=_QUEUE_STATUSES)
        .select_related("patient__user")
        .order_by("queue_number")
    )
    serving = next((a for a in queued if a.status == AppointmentStatus.IN_PROGRESS), None)
    return {
        "doctor": doctor_id,
        "date": day.isoformat(),
        "now_serving": AppointmentSerializer(serving).data if serving is not None else None,
        "waiting": AppointmentSerializer(
            [a for a in queued if a.status == AppointmentStatus.CHECKED_IN], many=True
        ).data,
        "done": sum(1 for a in queued if a.status == AppointmentStatus.COMPLETED),
    }


def display_payload(queue: dict[str, Any]) -> dict[str, Any]:
    """What a waiting-room screen may show: numbers and statuses, no names, no reasons."""

    def public(appointment: dict[str, Any]) -> dict[str, Any]:
        return {"queue_number": appointment["queue_number"], "status": appointment["status"]}

    serving = queue["now_serving"]
    return {
        "doctor": queue["doctor"],
        "date": queue["date"],
        "now_serving": public(serving) if serving is not None else None,
        "waiting": [public(a) for a in queue["waiting"]],
    }
