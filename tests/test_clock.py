"""Processes a test starts run in its clock and clinic time zone (tests/clock.py,
`in_test_clock`): a daphne (a console script) and a manage.py command (the relay's way)
name the same clinic day as the test."""

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime

import httpx
import pytest
from django.conf import settings

from accounts import services as accounts_services
from tests.clock import clinic_day, in_test_clock, use_clinic_timezone
from tests.servers import server_env

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Noon UTC is already the next day in Kiritimati (UTC+14): a process in the registered zone
# (UTC), or at the real time (years away), names another clinic day than the test.
INSTANT = datetime(2031, 3, 14, 12, 0, tzinfo=UTC)
ZONE = "Pacific/Kiritimati"


@pytest.fixture
def far_clinic(time_machine) -> Iterator[date]:
    """The test at INSTANT, in a clinic in ZONE: its clinic day."""
    time_machine.move_to(INSTANT, tick=True)
    restore = use_clinic_timezone(ZONE)
    try:
        yield clinic_day()
    finally:
        restore()


def test_a_server_the_test_starts_is_in_its_clinic_zone_and_clock(far_clinic, daphne_server, carol):
    assert far_clinic == date(2031, 3, 15)
    host = daphne_server()
    public = {entry["key"]: entry for entry in httpx.get(f"http://{host}/api/settings/", timeout=15).json()}
    assert public["timezone"]["value"] == ZONE
    token = accounts_services.token_issue(user=carol).token
    queue = httpx.get(
        f"http://{host}/api/doctors/{carol.doctor.pk}/queue/", headers={"Authorization": f"Bearer {token}"}, timeout=15
    )
    assert queue.status_code == 200, queue.text
    assert queue.json()["date"] == far_clinic.isoformat()


def test_a_command_the_test_starts_is_in_its_clinic_zone_and_clock(far_clinic):
    code = "from clinic.clock import clinic_today; print(clinic_today())"
    done = subprocess.run(
        in_test_clock([sys.executable, "manage.py", "shell", "-c", code]),
        cwd=settings.BASE_DIR, env=server_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == far_clinic.isoformat()
