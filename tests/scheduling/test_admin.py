"""Scheduling in the back office: the day's appointments, availability, review moderation."""

from collections.abc import Iterator
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from audit.models import AdminActionLog, AuditLog
from core import clinic_settings
from scheduling.models import AvailabilityRule, Review
from scheduling.review_services import review_create
from tests.backoffice import admin_login, changelist_action
from tests.factories import appointment_at

pytestmark = pytest.mark.django_db

APPOINTMENTS = "/admin/scheduling/appointment/"
REVIEWS = "/admin/scheduling/review/"


@pytest.fixture(autouse=True)
def clinic_timezone_setting() -> Iterator[None]:
    # The scheduling app registers the time zone; stand in where it has not.
    added = "timezone" not in clinic_settings.REGISTRY
    if added:
        clinic_settings.register(
            clinic_settings.SettingSpec(key="timezone", type="timezone", default="UTC", help="", public=True)
        )
    clinic_settings.clear_cache()
    yield
    if added:
        clinic_settings.REGISTRY.pop("timezone")
    clinic_settings.clear_cache()


def _today_at(hour: int) -> datetime:
    zone = clinic_settings.clinic_timezone()
    return datetime.combine(timezone.now().astimezone(zone).date(), time(hour), tzinfo=zone)


def test_reception_sees_todays_appointments_by_status(rita, alice, bob, carol):
    appointment_at(doctor=carol, patient=alice, start=_today_at(9), status="checked_in")
    appointment_at(doctor=carol, patient=bob, start=_today_at(10), status="booked")
    appointment_at(doctor=carol, patient=bob, start=_today_at(10) + timedelta(days=2), status="booked")
    browser = admin_login(rita.email)

    today = browser.get(f"{APPOINTMENTS}?day=today").content.decode()
    assert "Alice Anders" in today
    assert today.count("Bob Baker") == 1  # the one in two days is not today

    checked_in = browser.get(f"{APPOINTMENTS}?day=today&status__exact=checked_in").content.decode()
    assert "Alice Anders" in checked_in
    assert "Bob Baker" not in checked_in


def test_appointments_are_view_only_in_the_back_office(ada, alice, carol):
    appointment = appointment_at(doctor=carol, patient=alice, start=_today_at(11))
    browser = admin_login(ada.email)
    page = browser.get(f"{APPOINTMENTS}{appointment.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert browser.get(f"{APPOINTMENTS}add/").status_code == 403


def test_availability_rules_per_doctor(rita, carol, dave):
    AvailabilityRule.objects.create(
        doctor=carol.doctor, weekday=0, start_time=time(9), end_time=time(12), slot_minutes=30
    )
    AvailabilityRule.objects.create(
        doctor=dave.doctor, weekday=2, start_time=time(14), end_time=time(17), slot_minutes=20
    )
    browser = admin_login(rita.email)
    page = browser.get(f"/admin/scheduling/availabilityrule/?doctor__id__exact={carol.doctor.pk}").content.decode()
    assert "Monday" in page
    assert "Wednesday" not in page
    # And on the doctor's own page.
    dave_page = browser.get(f"/admin/accounts/doctor/{dave.doctor.pk}/change/").content.decode()
    assert "Wednesday" in dave_page
    assert "Monday" not in dave_page


def test_admin_hides_a_review_and_it_is_logged(ada, alice, carol):
    appointment = appointment_at(
        doctor=carol, patient=alice, start=timezone.now() - timedelta(days=1), status="completed"
    )
    review = review_create(actor=alice, doctor=carol.doctor, appointment_id=appointment.pk, rating=1, comment="Spam")
    browser = admin_login(ada.email)
    assert changelist_action(browser, REVIEWS, "hide", [review.pk]).status_code == 302
    review.refresh_from_db()
    assert review.is_hidden
    assert review.hidden_by == ada
    assert AdminActionLog.objects.filter(action="review.hide", object_id=str(review.pk), admin=ada).exists()
    assert AuditLog.objects.filter(action="review.hidden", actor=ada).exists()

    assert changelist_action(browser, REVIEWS, "unhide", [review.pk]).status_code == 302
    assert not Review.objects.get(pk=review.pk).is_hidden


def test_reception_cannot_moderate_reviews(rita, alice, carol):
    appointment = appointment_at(
        doctor=carol, patient=alice, start=timezone.now() - timedelta(days=1), status="completed"
    )
    review = review_create(actor=alice, doctor=carol.doctor, appointment_id=appointment.pk, rating=2)
    browser = admin_login(rita.email)
    assert 'value="hide"' not in browser.get(REVIEWS).content.decode()
    changelist_action(browser, REVIEWS, "hide", [review.pk])
    assert not Review.objects.get(pk=review.pk).is_hidden
