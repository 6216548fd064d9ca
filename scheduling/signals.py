"""What scheduling announces to the apps built on it.

Scheduling imports none of those apps (dependencies run one way); they connect their
own services in their AppConfig.ready: see `notifications/receivers.py`.
"""

from django.dispatch import Signal

# Sent after the transaction that booked, moved or cancelled an appointment commits, with
# `appointment_id` and `kind` ("booked", "rescheduled" or "cancelled"). A rolled-back
# change announces nothing.
appointment_changed = Signal()
