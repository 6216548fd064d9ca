"""Accounts in the back office, used as the clinic's admins and reception would."""

import pytest

from accounts.models import Doctor, User
from audit.models import AdminActionLog, AuditLog
from core.roles import Role
from tests import factories
from tests.backoffice import admin_login, changelist_action, post_from, submit

pytestmark = pytest.mark.django_db

USERS = "/admin/accounts/user/"
DOCTORS = "/admin/accounts/doctor/"


@pytest.fixture
def newcomer(db: None) -> User:
    return factories.DoctorFactory(email="nina@example.test", first_name="Nina", last_name="New", approved=False)


def test_admin_approves_a_doctor_with_the_action(ada, newcomer):
    browser = admin_login(ada.email)
    waiting = browser.get(f"{DOCTORS}?approval=waiting").content.decode()
    assert "Nina New" in waiting

    response = changelist_action(browser, DOCTORS, "approve", [newcomer.doctor.pk])
    assert response.status_code == 302

    doctor = Doctor.objects.get(pk=newcomer.doctor.pk)
    assert doctor.is_approved
    assert doctor.approved_at is not None
    log = AdminActionLog.objects.get(action="doctor.approve")
    assert (log.admin, log.object_type, log.object_id) == (ada, "doctor", str(doctor.pk))
    assert AuditLog.objects.filter(action="doctor.approved", actor=ada, object_id=str(doctor.pk)).exists()
    assert AuditLog.objects.filter(action="admin.doctor.approve", actor=ada).exists()
    # And it shows in the back office's own log page.
    assert "doctor.approve" in browser.get("/admin/audit/adminactionlog/").content.decode()


def test_reception_cannot_approve_doctors(rita, newcomer):
    browser = admin_login(rita.email)
    page = browser.get(DOCTORS).content.decode()
    assert 'value="approve"' not in page
    response = changelist_action(browser, DOCTORS, "approve", [newcomer.doctor.pk])
    assert response.status_code == 200  # "no action selected": the action is not offered
    assert not Doctor.objects.get(pk=newcomer.doctor.pk).is_approved
    assert not AdminActionLog.objects.exists()


def test_users_by_role_with_search(ada, alice, carol, rita):
    browser = admin_login(ada.email)
    doctors_only = browser.get(f"{USERS}?role=doctor").content.decode()
    assert carol.email in doctors_only
    assert alice.email not in doctors_only
    found = browser.get(f"{USERS}?q=Anders").content.decode()
    assert alice.email in found
    assert rita.email not in found


def test_admin_creates_a_staff_account_through_the_service(ada):
    browser = admin_login(ada.email)
    response = submit(
        browser,
        f"{USERS}add/",
        {
            "email": "Rob@Example.test",
            "first_name": "Rob",
            "last_name": "Desk",
            "phone": "",
            "role": Role.STAFF,
            "password1": factories.PASSWORD,
            "password2": factories.PASSWORD,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    rob = User.objects.get(email="rob@example.test")
    assert (rob.role, rob.is_staff, rob.is_superuser) == (Role.STAFF, True, False)
    assert rob.check_password(factories.PASSWORD)
    assert AuditLog.objects.filter(action="user.created", actor=ada, object_id=str(rob.pk)).exists()
    assert AdminActionLog.objects.filter(action="user.added", object_id=str(rob.pk), admin=ada).exists()
    # The new account signs in to the back office.
    admin_login("rob@example.test")


def test_add_form_refuses_mismatched_passwords_and_duplicates(ada, alice):
    browser = admin_login(ada.email)
    base = {"first_name": "X", "last_name": "Y", "phone": "", "role": Role.PATIENT}
    mismatch = submit(
        browser, f"{USERS}add/", {**base, "email": "x@example.test", "password1": "a-Long-pass-1", "password2": "b"}
    )
    assert "The two passwords differ." in mismatch.content.decode()
    duplicate = submit(
        browser,
        f"{USERS}add/",
        {**base, "email": "ALICE@example.test", "password1": factories.PASSWORD, "password2": factories.PASSWORD},
    )
    assert "already exists" in duplicate.content.decode()
    assert not User.objects.filter(email="x@example.test").exists()


def test_reception_creates_patients_only(rita):
    browser = admin_login(rita.email)
    form = browser.get(f"{USERS}add/").content.decode()
    assert 'value="patient"' in form
    assert 'value="admin"' not in form
    response = submit(
        browser,
        f"{USERS}add/",
        {
            "email": "evil@example.test",
            "first_name": "E",
            "last_name": "Vil",
            "phone": "",
            "role": Role.ADMIN,
            "password1": factories.PASSWORD,
            "password2": factories.PASSWORD,
        },
    )
    assert response.status_code == 200  # refused: not a valid choice
    assert not User.objects.filter(email="evil@example.test").exists()


def test_reception_cannot_escalate_roles(rita, alice, ada):
    browser = admin_login(rita.email)
    # Reception may edit a patient's details, but the role is not a field they can send.
    page = browser.get(f"{USERS}{alice.pk}/change/").content.decode()
    assert 'name="role"' not in page
    response = submit(
        browser,
        f"{USERS}{alice.pk}/change/",
        {"first_name": "Alicia", "last_name": "Anders", "phone": "555", "role": Role.ADMIN},
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.first_name, alice.phone, alice.role, alice.is_superuser) == ("Alicia", "555", Role.PATIENT, False)
    assert AdminActionLog.objects.filter(action="user.changed", object_id=str(alice.pk), admin=rita).exists()

    # Reception's own account and the admin's are view-only to them.
    for user in (rita, ada):
        assert 'name="first_name"' not in browser.get(f"{USERS}{user.pk}/change/").content.decode()
        response = post_from(browser, USERS, f"{USERS}{user.pk}/change/", {"role": Role.ADMIN})
        assert response.status_code == 403
    rita.refresh_from_db()
    assert (rita.role, rita.is_superuser) == (Role.STAFF, False)


def test_admin_changes_a_role_and_the_flags_follow(ada, rita):
    browser = admin_login(ada.email)
    response = submit(
        browser,
        f"{USERS}{rita.pk}/change/",
        {"first_name": "Rita", "last_name": "Reception", "phone": "", "role": Role.PATIENT},
    )
    assert response.status_code == 302
    rita.refresh_from_db()
    assert (rita.role, rita.is_staff, rita.is_superuser) == (Role.PATIENT, False, False)
    assert rita.patient is not None
    assert AuditLog.objects.filter(action="user.role_changed", object_id=str(rita.pk)).exists()


def test_admin_cannot_change_their_own_role(ada):
    browser = admin_login(ada.email)
    response = submit(
        browser,
        f"{USERS}{ada.pk}/change/",
        {"first_name": "Ada", "last_name": "Admin", "phone": "", "role": Role.PATIENT},
    )
    assert response.status_code == 302  # back to the form, with the reason as a message
    ada.refresh_from_db()
    assert ada.role == Role.ADMIN
    assert not AdminActionLog.objects.filter(action="user.changed").exists()


def test_admin_deactivates_an_account_with_the_action(ada, bob):
    browser = admin_login(ada.email)
    response = changelist_action(browser, USERS, "deactivate", [bob.pk])
    assert response.status_code == 302
    bob.refresh_from_db()
    assert not bob.is_active
    assert bob.email.endswith("@anonymised.invalid")
    assert AdminActionLog.objects.filter(action="user.deactivate", object_id=str(bob.pk)).exists()


def test_users_cannot_be_deleted_from_the_back_office(ada, bob):
    browser = admin_login(ada.email)
    assert browser.get(f"{USERS}{bob.pk}/delete/").status_code == 403


def test_reception_edits_a_doctor_profile(rita, carol):
    browser = admin_login(rita.email)
    response = submit(
        browser,
        f"{DOCTORS}{carol.doctor.pk}/change/",
        {
            "specialization": "Cardiology",
            "qualifications": "MD, PhD",
            "experience_years": "9",
            "availability_rules-TOTAL_FORMS": "0",
            "availability_rules-INITIAL_FORMS": "0",
            "availability_exceptions-TOTAL_FORMS": "0",
            "availability_exceptions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    carol.doctor.refresh_from_db()
    assert (carol.doctor.specialization, carol.doctor.experience_years) == ("Cardiology", 9)
    assert AuditLog.objects.filter(action="user.updated", actor=rita, object_id=str(carol.pk)).exists()
    assert AdminActionLog.objects.filter(action="doctor.changed", admin=rita).exists()
