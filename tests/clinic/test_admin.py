"""The clinic settings page of the back office, driven through the login page."""

import pytest

from audit.models import AdminActionLog, AuditLog
from clinic.registry import clinic_setting
from tests.backoffice import admin_login, csrf_token, submit

pytestmark = pytest.mark.django_db

LIST = "/admin/clinic/clinicsetting/"


def test_admin_changes_a_setting_and_the_action_log_shows_it(registered_settings, ada):
    browser = admin_login(ada.email)
    page = browser.get(LIST).content.decode()
    # Every registered setting is there with its help text, changed or not.
    assert "test_booking_horizon_days" in page
    assert "How far ahead patients may book." in page

    response = submit(browser, f"{LIST}edit/test_booking_horizon_days/", {"value": "120"})
    assert response.status_code == 302
    assert clinic_setting("test_booking_horizon_days") == 120

    entry = AdminActionLog.objects.get(action="clinicsetting.changed")
    assert entry.admin == ada
    assert entry.details == {"key": "test_booking_horizon_days", "value": 120}
    assert AuditLog.objects.filter(action="admin.clinicsetting.changed", actor=ada).count() == 1
    assert AuditLog.objects.filter(action="setting.changed", actor=ada).count() == 1

    log_page = browser.get("/admin/audit/adminactionlog/").content.decode()
    assert "clinicsetting.changed" in log_page


def test_typed_form_refuses_a_bad_value_and_changes_nothing(registered_settings, ada):
    browser = admin_login(ada.email)
    response = submit(browser, f"{LIST}edit/test_booking_horizon_days/", {"value": "0"})
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 1." in response.content.decode()
    response = submit(browser, f"{LIST}edit/test_reminder_hours/", {"value": "24, soon"})
    assert response.status_code == 200
    assert "Whole numbers separated by commas" in response.content.decode()
    assert clinic_setting("test_booking_horizon_days") == 60
    assert not AdminActionLog.objects.exists()


def test_list_and_time_zone_settings_through_the_form(registered_settings, ada):
    browser = admin_login(ada.email)
    assert submit(browser, f"{LIST}edit/test_reminder_hours/", {"value": "2, 24"}).status_code == 302
    assert clinic_setting("test_reminder_hours") == [24, 2]
    assert submit(browser, f"{LIST}edit/timezone/", {"value": "Europe/Lisbon"}).status_code == 302
    assert clinic_setting("timezone") == "Europe/Lisbon"
    assert submit(browser, f"{LIST}edit/test_open_checkin/", {}).status_code == 302
    assert clinic_setting("test_open_checkin") is False
    assert AdminActionLog.objects.filter(action="clinicsetting.changed").count() == 3


def test_staff_see_settings_but_cannot_change_them(registered_settings, rita):
    browser = admin_login(rita.email)
    page = browser.get(LIST)
    assert page.status_code == 200
    assert "Only administrators can change them." in page.content.decode()
    token = csrf_token(page.content.decode())
    response = browser.post(f"{LIST}edit/test_booking_horizon_days/", {"value": "5", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"] == LIST
    assert clinic_setting("test_booking_horizon_days") == 60


def test_patients_and_doctors_cannot_sign_in_to_the_back_office(alice, carol):
    from django.test import Client

    from tests.factories import PASSWORD

    for user in (alice, carol):
        client = Client(enforce_csrf_checks=True)
        page = client.get("/admin/login/")
        response = client.post(
            "/admin/login/",
            {"username": user.email, "password": PASSWORD, "csrfmiddlewaretoken": csrf_token(page.content.decode())},
        )
        assert response.status_code == 200  # the form again, with an error
        assert client.get(LIST).status_code == 302  # to the login page
