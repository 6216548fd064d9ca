"""GET /api/users/me/, PUT /api/users/update/, DELETE /api/users/delete/, POST /api/users/create/."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from accounts.models import AuthToken, Patient, User
from audit.models import AuditLog
from core.roles import Role
from tests.assertions import assert_error
from tests.factories import PASSWORD, appointment_at

ME = "/api/users/me/"
UPDATE = "/api/users/update/"
DELETE = "/api/users/delete/"
CREATE = "/api/users/create/"

pytestmark = pytest.mark.django_db


# --- me ----------------------------------------------------------------------------------


def test_me_shows_the_user_with_their_profile(client_for, alice, carol):
    body = client_for(alice).get(ME).json()
    assert set(body) >= {"id", "email", "first_name", "last_name", "role", "phone", "is_active", "patient", "doctor"}
    assert (body["id"], body["email"], body["role"], body["doctor"]) == (
        alice.id,
        "alice@example.test",
        "patient",
        None,
    )
    assert body["patient"]["id"] == alice.patient.id
    body = client_for(carol).get(ME).json()
    assert body["patient"] is None
    assert body["doctor"] == {
        "id": carol.doctor.id,
        "specialization": "General Practice",
        "qualifications": "MD",
        "experience_years": 7,
        "is_approved": True,
    }
    assert "password" not in body and "firebase_uid" not in body


def test_me_needs_a_token(anon):
    assert_error(anon.get(ME), 401, "not_authenticated")


# --- update ------------------------------------------------------------------------------


def test_update_changes_user_and_profile_fields_partially(client_for, alice):
    client = client_for(alice)
    response = client.put(UPDATE, {"phone": "+1 555 0100", "address": "2 Low Road", "gender": "other"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["phone"] == "+1 555 0100"
    assert body["first_name"] == "Alice"
    assert body["patient"]["address"] == "2 Low Road"
    assert body["patient"]["gender"] == "other"
    assert client.get(ME).json() == body
    entry = AuditLog.objects.filter(action="user.updated").latest("id")
    assert (entry.actor_id, entry.object_id) == (alice.id, str(alice.id))
    assert entry.details == {"fields": ["address", "gender", "phone"]}


def test_update_accepts_patch_too(client_for, alice):
    response = client_for(alice).patch(UPDATE, {"last_name": "Archer"}, format="json")
    assert response.status_code == 200
    assert response.json()["last_name"] == "Archer"


def test_a_doctor_updates_their_profile_but_not_their_approval(client_for, carol):
    response = client_for(carol).put(
        UPDATE, {"specialization": "Dermatology", "experience_years": 9, "is_approved": False}, format="json"
    )
    assert response.status_code == 200
    doctor = response.json()["doctor"]
    assert (doctor["specialization"], doctor["experience_years"], doctor["is_approved"]) == ("Dermatology", 9, True)


def test_update_cannot_change_email_role_or_activity(client_for, alice):
    response = client_for(alice).put(
        UPDATE, {"email": "x@example.test", "role": "admin", "is_active": False, "is_staff": True}, format="json"
    )
    assert response.status_code == 200
    alice.refresh_from_db()
    assert (alice.email, alice.role, alice.is_active, alice.is_staff) == ("alice@example.test", "patient", True, False)
    assert not AuditLog.objects.filter(action="user.updated").exists()


def test_update_refuses_bad_input_with_fields(client_for, alice):
    response = client_for(alice).put(
        UPDATE, {"first_name": "", "date_of_birth": "yesterday", "experience_years": -3}, format="json"
    )
    assert_error(response, 400, "invalid", fields={"first_name", "date_of_birth", "experience_years"})
    alice.refresh_from_db()
    assert alice.first_name == "Alice"


def test_update_needs_a_token(anon):
    assert_error(anon.put(UPDATE, {"first_name": "X"}, format="json"), 401, "not_authenticated")


def test_update_only_ever_touches_the_caller(client_for, alice, bob):
    # There is no way to name another user: an id in the body is ignored.
    response = client_for(bob).put(
        UPDATE, {"id": alice.id, "user_id": alice.id, "first_name": "Mallory"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["id"] == bob.id
    alice.refresh_from_db()
    assert alice.first_name == "Alice"


# --- delete ------------------------------------------------------------------------------


def test_delete_deactivates_anonymises_keeps_records_and_is_logged(client_for, ada, alice, carol):
    alice.firebase_uid = "firebase-alice"
    alice.save(update_fields=["firebase_uid"])
    client_for(alice)  # a live token, to be revoked
    appointment = appointment_at(
        doctor=carol, patient=alice, start=datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("UTC")), status="completed"
    )
    patient_id = alice.patient.id

    response = client_for(ada).delete(DELETE, {"user_id": alice.id}, format="json")
    assert response.status_code == 204, response.content

    alice.refresh_from_db()
    assert alice.is_active is False
    assert alice.email == f"deleted-user-{alice.id}@anonymised.invalid"
    assert (alice.first_name, alice.last_name, alice.phone, alice.firebase_uid) == ("", "", "", None)
    assert not alice.has_usable_password()
    assert alice.anonymised_at is not None
    patient = Patient.objects.get(pk=patient_id)
    assert (patient.date_of_birth, patient.address, patient.emergency_contact_name) == (None, "", "")
    # Medical and billing rows stay, still linked.
    appointment.refresh_from_db()
    assert appointment.patient_id == patient_id
    assert not AuthToken.objects.live().filter(user=alice).exists()
    entry = AuditLog.objects.get(action="user.deleted")
    assert (entry.actor_id, entry.object_type, entry.object_id) == (ada.id, "user", str(alice.id))


def test_a_deleted_user_cannot_sign_in_and_their_email_is_free_again(client_for, anon, ada, alice):
    token_client = client_for(alice)
    client_for(ada).delete(DELETE, {"user_id": alice.id}, format="json")
    assert token_client.get(ME).status_code == 401
    response = anon.post("/api/auth/login/", {"email": "alice@example.test", "password": PASSWORD}, format="json")
    assert response.status_code == 401
    response = anon.post(
        "/api/auth/register/",
        {"email": "alice@example.test", "password": PASSWORD, "first_name": "New", "last_name": "Alice"},
        format="json",
    )
    assert response.status_code == 201


def test_delete_twice_is_harmless(client_for, ada, alice):
    client = client_for(ada)
    assert client.delete(DELETE, {"user_id": alice.id}, format="json").status_code == 204
    assert client.delete(DELETE, {"user_id": alice.id}, format="json").status_code == 204
    assert AuditLog.objects.filter(action="user.deleted").count() == 1


def test_delete_refuses_bad_input_with_fields(client_for, ada):
    client = client_for(ada)
    assert_error(client.delete(DELETE, {}, format="json"), 400, "invalid", fields={"user_id"})
    assert_error(client.delete(DELETE, {"user_id": "abc"}, format="json"), 400, "invalid", fields={"user_id"})


def test_delete_of_an_unknown_user_is_404(client_for, ada):
    assert_error(client_for(ada).delete(DELETE, {"user_id": 999_999}, format="json"), 404, "not_found")


def test_delete_needs_a_token(anon, alice):
    assert_error(anon.delete(DELETE, {"user_id": alice.id}, format="json"), 401, "not_authenticated")


@pytest.mark.parametrize("persona", ["bob", "carol", "rita"])
def test_delete_is_for_admins_only(client_for, alice, persona, request):
    response = client_for(request.getfixturevalue(persona)).delete(DELETE, {"user_id": alice.id}, format="json")
    assert_error(response, 403, "permission_denied")
    alice.refresh_from_db()
    assert alice.is_active


# --- create ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["staff", "admin", "patient", "doctor"])
def test_admin_creates_accounts_of_every_role(client_for, anon, ada, role):
    response = client_for(ada).post(
        CREATE,
        {"email": f"New.{role}@example.test", "password": PASSWORD, "first_name": "N", "last_name": "U", "role": role},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["email"], body["role"]) == (f"new.{role}@example.test", role)
    user = User.objects.get(pk=body["id"])
    assert user.is_staff is (role in ("staff", "admin"))
    assert user.is_superuser is (role == "admin")
    assert (body["patient"] is not None) is (role == "patient")
    assert (body["doctor"] is not None) is (role == "doctor")
    if role == "doctor":
        assert body["doctor"]["is_approved"] is False
    entry = AuditLog.objects.get(action="user.created", object_id=str(user.id))
    assert entry.actor_id == ada.id
    login = anon.post("/api/auth/login/", {"email": user.email, "password": PASSWORD}, format="json")
    assert login.status_code == 200


def test_create_refuses_bad_input_with_fields(client_for, ada, alice):
    client = client_for(ada)
    response = client.post(CREATE, {"email": "x", "password": PASSWORD, "role": "superhero"}, format="json")
    assert_error(response, 400, "invalid", fields={"email", "role"})
    response = client.post(
        CREATE, {"email": "alice@example.test", "password": PASSWORD, "role": "staff"}, format="json"
    )
    assert_error(response, 400, "invalid", fields={"email"})
    response = client.post(CREATE, {"email": "z@example.test", "password": "short", "role": "staff"}, format="json")
    assert_error(response, 400, "invalid", fields={"password"})


def test_create_needs_a_token(anon):
    response = anon.post(CREATE, {"email": "x@example.test", "password": PASSWORD, "role": "admin"}, format="json")
    assert_error(response, 401, "not_authenticated")


@pytest.mark.parametrize("persona", ["alice", "carol", "rita"])
def test_create_is_for_admins_only(client_for, persona, request):
    response = client_for(request.getfixturevalue(persona)).post(
        CREATE, {"email": "x@example.test", "password": PASSWORD, "role": "admin"}, format="json"
    )
    assert_error(response, 403, "permission_denied")
    assert not User.objects.filter(email="x@example.test").exists()


def test_the_admin_role_marks_the_user(ada, rita, alice):
    assert ada.role == Role.ADMIN and ada.is_admin and ada.is_staff_or_admin
    assert rita.is_staff_or_admin and not rita.is_admin
    assert not alice.is_staff_or_admin


def test_token_expiry_applies_to_every_endpoint(client_for, alice):
    client = client_for(alice)
    AuthToken.objects.filter(user=alice).update(expires_at=AuthToken.objects.get(user=alice).created_at)
    assert client.put(UPDATE, {"first_name": "X"}, format="json").status_code == 401
    AuthToken.objects.filter(user=alice).update(expires_at=AuthToken.objects.get(user=alice).created_at + timedelta(1))
    assert client.put(UPDATE, {"first_name": "X"}, format="json").status_code == 200


def test_delete_erases_the_addresses_notifications_were_sent_to(client_for, ada, alice, carol):
    from datetime import timedelta

    from django.utils import timezone

    from notifications.models import Notification
    from notifications.services import appointment_notify
    from tests.factories import appointment_at

    appointment = appointment_at(doctor=carol, patient=alice, start=timezone.now() + timedelta(days=2))
    appointment_notify(appointment_id=appointment.pk, kind="booked")
    sent = Notification.objects.filter(user=alice).exclude(recipient="")
    assert sent.exists()

    assert client_for(ada).delete("/api/users/delete/", {"user_id": alice.id}, format="json").status_code == 204

    assert Notification.objects.filter(user=alice).exists()  # the record of what was sent stays
    assert not Notification.objects.filter(user=alice).exclude(recipient="").exists()
    assert not Notification.objects.filter(recipient__icontains="alice").exists()
