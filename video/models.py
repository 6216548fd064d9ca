"""The room of a video visit. Written only by `video.services`."""

from django.db import models
from django.utils import timezone

from scheduling.models import Appointment


class VideoRoom(models.Model):
    """One room per video appointment, made on the first grant inside the window.

    `name` is random and unguessable: with the embedded provider (Jitsi Meet) the name is
    the only thing between a stranger and the visit. `provider_sid` is the provider's own
    id of the room (Twilio's `RM...`), empty for Jitsi.
    """

    appointment = models.OneToOneField(Appointment, on_delete=models.CASCADE, related_name="video_room")
    provider = models.CharField(max_length=16)
    name = models.CharField(max_length=64, unique=True)
    provider_sid = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    doctor_joined_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.provider} room for appointment {self.appointment_id}"
