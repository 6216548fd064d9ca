"""Every realtime event the video app publishes; the only place their payloads are built."""

from datetime import datetime

from realtime import topics
from realtime.publish import publish
from scheduling.models import Appointment
from scheduling.serializers import clinic_iso


def video_doctor_joined(*, appointment: Appointment, joined_at: datetime) -> None:
    """The doctor has entered the visit's room: to the patient's notifications topic."""
    publish(
        topic=topics.user_notifications(appointment.patient.user_id),
        event="video.doctor_joined",
        data={"appointment": appointment.pk, "doctor": appointment.doctor_id, "joined_at": clinic_iso(joined_at)},
    )
