"""Notifications benchmark: the reminder scan and the delivery state machine. Prints numbers.

    DATABASE_URL=postgres://... REDIS_URL= SECRET_KEY=x .venv/bin/python bench/notifications_bench.py [appointments]

Needs a migrated database; everything it writes is rolled back at the end. Deliveries go
through the real Twilio SDK to a local recording stand-in (tests/notifications/standin.py).
"""

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from notifications import services  # noqa: E402
from notifications.models import Notification  # noqa: E402
from tests import factories  # noqa: E402
from tests.notifications import standin  # noqa: E402


class Rollback(Exception):
    pass


def main(count: int) -> None:
    server = standin.StandInServer()
    state = server.start()
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = standin.TWILIO_SID, standin.TWILIO_TOKEN
    settings.TWILIO_FROM_NUMBER, settings.TWILIO_API_BASE_URL = standin.TWILIO_FROM, state.base_url
    settings.TWILIO_ENABLED = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    try:
        with transaction.atomic():
            doctors = [factories.DoctorFactory(email=f"bench-doctor{d}@example.test") for d in range(10)]
            soon = timezone.now() + timedelta(minutes=10)
            for i in range(count):
                patient = factories.PatientFactory(email=f"bench-patient{i}@example.test")
                User.objects.filter(pk=patient.pk).update(phone=f"+1555{i:07d}")
                patient.refresh_from_db()
                # Ten doctors, 5-minute visits, all inside the 2-hour reminder lead.
                start = soon + timedelta(minutes=5 * (i // 10))
                appointment = factories.appointment_at(doctor=doctors[i % 10], patient=patient, start=start, minutes=5)
                type(appointment).objects.filter(pk=appointment.pk).update(created_at=soon - timedelta(days=3))
            started = time.perf_counter()
            created = services.reminders_create_due()
            scan = time.perf_counter() - started
            started = time.perf_counter()
            again = services.reminders_create_due()
            rescan = time.perf_counter() - started
            sms = list(Notification.objects.filter(channel="sms", status="pending").values_list("pk", flat=True))
            started = time.perf_counter()
            for notification_id in sms:
                services.notification_deliver(notification_id=notification_id)
            deliver = time.perf_counter() - started
            sent_twice = len(state.sends("sms")) - len(sms)
            raise Rollback
    except Rollback:
        pass
    finally:
        server.stop()
    print(f"appointments                 {count}")
    print(f"reminder scan (first run)    {scan * 1000:.0f} ms, {created} reminders created")
    print(f"reminder scan (second run)   {rescan * 1000:.0f} ms, {again} created")
    print(
        f"SMS delivered through SDK    {len(sms)} in {deliver * 1000:.0f} ms ({len(sms) / deliver:.0f}/s, one worker)"
    )
    print(f"extra provider sends         {sent_twice}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
