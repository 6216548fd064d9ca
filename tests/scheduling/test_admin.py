"""Scheduling in the back office: the day's appointments, availability."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from audit.models import AdminActionLog, AuditLog
from clinic.clock import clinic_timezone
from scheduling.models import Appointment, AvailabilityException, AvailabilityRule, Slot, SlotStatus
from tests.backoffice import admin_login, changelist_action, submit
from tests.clock import clinic_at, clinic_day
from tests.factories import appointment_at

pytestmark = pytest.mark.django_db

APPOINTMENTS = "/admin/scheduling/appointment/"


def test_reception_sees_todays_appointments_by_status(rita, alice, bob, carol):
    appointment_at(doctor=carol, patient=alice, start=clinic_at(time(9)), status="checked_in")
    appointment_at(doctor=carol, patient=bob, start=clinic_at(time(10)), status="booked")
    appointment_at(doctor=carol, patient=bob, start=clinic_at(time(10)) + timedelta(days=2), status="booked")
    browser = admin_login(rita.email)

    today = browser.get(f"{APPOINTMENTS}?day=today").content.decode()
    assert "Alice Anders" in today
    assert today.count("Bob Baker") == 1  # the one in two days is not today

    checked_in = browser.get(f"{APPOINTMENTS}?day=today&status__exact=checked_in").content.decode()
    assert "Alice Anders" in checked_in
    assert "Bob Baker" not in checked_in


def test_appointments_are_view_only_in_the_back_office(ada, alice, carol):
    appointment = appointment_at(doctor=carol, patient=alice, start=clinic_at(time(11)))
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


def test_reception_adds_and_removes_working_hours_through_the_services(clinic, rita, carol):
    browser = admin_login(rita.email)
    tomorrow = clinic_day(1)
    response = submit(
        browser,
        "/admin/scheduling/availabilityrule/add/",
        {
            "doctor": carol.doctor.pk,
            "weekday": tomorrow.weekday(),
            "start_time": "09:00",
            "end_time": "11:00",
            "slot_minutes": "30",
            "buffer_minutes": "10",
            "valid_from": "",
            "valid_until": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    rule = AvailabilityRule.objects.get(doctor=carol.doctor)
    assert rule.buffer_minutes == 10
    assert Slot.objects.filter(rule=rule, status=SlotStatus.FREE).count() >= 3  # slots were generated
    assert AuditLog.objects.filter(action="availability_rule.created", actor=rita).exists()
    assert AdminActionLog.objects.filter(action="availabilityrule.added", admin=rita).exists()

    response = submit(browser, f"/admin/scheduling/availabilityrule/{rule.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not AvailabilityRule.objects.exists()
    assert not Slot.objects.filter(doctor=carol.doctor, status=SlotStatus.FREE, start__gt=timezone.now()).exists()
    assert AuditLog.objects.filter(action="availability_rule.deleted", actor=rita).exists()
    assert AdminActionLog.objects.filter(action="availabilityrule.deleted", admin=rita).exists()


def test_rule_form_refuses_a_window_ending_before_it_starts(clinic, rita, carol):
    browser = admin_login(rita.email)
    response = submit(
        browser,
        "/admin/scheduling/availabilityrule/add/",
        {"doctor": carol.doctor.pk, "weekday": "0", "start_time": "11:00", "end_time": "09:00", "slot_minutes": "30"},
    )
    assert response.status_code == 200
    assert not AvailabilityRule.objects.exists()
    assert not AdminActionLog.objects.exists()


def test_reception_adds_time_off_typed_in_clinic_time(clinic, rita, carol):
    browser = admin_login(rita.email)
    day = clinic_day(3).isoformat()
    response = submit(
        browser,
        "/admin/scheduling/availabilityexception/add/",
        {
            "doctor": carol.doctor.pk,
            "start_0": day,
            "start_1": "12:00:00",
            "end_0": day,
            "end_1": "14:00:00",
            "reason": "Training",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    off = AvailabilityException.objects.get(doctor=carol.doctor)
    assert off.start.astimezone(clinic_timezone()).hour == 12
    assert AuditLog.objects.filter(action="availability_exception.created", actor=rita).exists()
    assert AdminActionLog.objects.filter(action="availabilityexception.added", admin=rita).exists()


def test_reception_checks_a_patient_in_with_the_action(rita, alice, carol):
    appointment = appointment_at(doctor=carol, patient=alice, start=timezone.now() + timedelta(hours=1))
    browser = admin_login(rita.email)
    assert changelist_action(browser, APPOINTMENTS, "check_in", [appointment.pk]).status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == "checked_in"
    assert appointment.queue_number == 1
    assert AdminActionLog.objects.filter(action="appointment.check_in", object_id=str(appointment.pk)).exists()


def test_a_refused_action_changes_nothing_and_says_why(rita, alice, bob, carol):
    later = timezone.now() + timedelta(hours=2)
    first = appointment_at(doctor=carol, patient=alice, start=timezone.now() - timedelta(hours=1))
    second = appointment_at(doctor=carol, patient=bob, start=later)
    browser = admin_login(rita.email)
    response = changelist_action(browser, APPOINTMENTS, "mark_no_show", [first.pk, second.pk])
    assert response.status_code == 302
    page = browser.get(response["Location"]).content.decode()
    assert "errornote" in page or "error" in page
    statuses = set(Appointment.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True))
    assert statuses == {"booked"}
    assert not AdminActionLog.objects.exists()
