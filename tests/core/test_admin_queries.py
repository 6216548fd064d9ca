"""Back-office lists do not ask the database once per row."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from clinic.clock import clinic_timezone
from reviews.services import review_create
from tests import factories
from tests.backoffice import admin_login
from tests.factories import appointment_at

pytestmark = pytest.mark.django_db

PAGES = [
    "/admin/accounts/user/",
    "/admin/accounts/doctor/",
    "/admin/accounts/patient/",
    "/admin/scheduling/appointment/?day=week",
    "/admin/reviews/review/",
    "/admin/audit/auditlog/",
    "/admin/audit/adminactionlog/",
]


def _visits(count: int, start_days: int) -> None:
    for n in range(count):
        doctor = factories.DoctorFactory(email=f"doctor{start_days}-{n}@example.test")
        patient = factories.PatientFactory(email=f"patient{start_days}-{n}@example.test")
        done = appointment_at(
            doctor=doctor, patient=patient, start=timezone.now() - timedelta(days=start_days + n), status="completed"
        )
        review_create(actor=patient, doctor=doctor.doctor, appointment_id=done.pk, rating=4)
        appointment_at(doctor=doctor, patient=patient, start=timezone.now() + timedelta(days=1, hours=n))


def _queries(browser, url: str) -> int:
    # Read the clinic's time zone first: the settings cache lives a few seconds, and a slow
    # machine would otherwise count its refill against whichever page comes next.
    clinic_timezone()
    with CaptureQueriesContext(connection) as captured:
        assert browser.get(url).status_code == 200
    return len(captured)


def test_list_pages_cost_the_same_with_more_rows(ada):
    browser = admin_login(ada.email)
    _visits(1, start_days=1)
    for url in PAGES:  # warm the per-process caches (content types, settings)
        _queries(browser, url)
    few = {url: _queries(browser, url) for url in PAGES}
    _visits(5, start_days=10)
    many = {url: _queries(browser, url) for url in PAGES}
    assert many == few
