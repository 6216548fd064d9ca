"""POST /api/auth/register/, /register/doctor/, /login/, /logout/ and the bearer token's life."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuthToken, User
from audit.models import AuditLog
from core.roles import Role
from core.tokens import hash_token
from tests.assertions import assert_error
from tests.concurrency import run_together
from tests.factories import PASSWORD

REGISTER = "/api/auth/register/"
REGISTER_DOCTOR = "/api/auth/register/doctor/"
LOGIN = "/api/auth/login/"
LOGOUT = "/api/auth/logout/"
ME = "/api/users/me/"

pytestmark = pytest.mark.django_db


def patient_body(**overrides):
    body = {
        "email": "New.Patient@Example.test",
        "password": PASSWORD,
        "first_name": "Nia",
        "last_name": "Nolan",
        "phone": "+44 20 7946 0000",
        "date_of_birth": "1990-04-01",
        "gender": "female",
        "address": "1 High Street",
        "emergency_contact_name": "Ned Nolan",
        "emergency_contact_phone": "+44 20 7946 0001",
    }
    body.update(overrides)
    return body


def doctor_body(**overrides):
    body = {
        "email": "new.doctor@example.test",
        "password": PASSWORD,
        "first_name": "Dora",
        "last_name": "Doyle",
        "specialization": "Cardiology",
        "qualifications": "MD, FRCP",
        "experience_years": 12,
    }
    body.update(overrides)
    return body


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


# --- register a patient ------------------------------------------------------------------


def test_register_makes_a_patient_and_signs_in(anon):
    response = anon.post(REGISTER, patient_body(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    user = body["user"]
    assert user["email"] == "new.patient@example.test"
    assert user["role"] == "patient"
    assert user["is_active"] is True
    assert user["doctor"] is None
    assert user["patient"] == {
        "id": User.objects.get(email="new.patient@example.test").patient.id,
        "date_of_birth": "1990-04-01",
        "gender": "female",
        "address": "1 High Street",
        "emergency_contact_name": "Ned Nolan",
        "emergency_contact_phone": "+44 20 7946 0001",
    }
    assert anon.get(ME, **bearer(body["token"])).json()["id"] == user["id"]
    # Only the token's hash is stored.
    assert not AuthToken.objects.filter(key_hash=body["token"]).exists()
    assert AuthToken.objects.filter(key_hash=hash_token(body["token"])).exists()
    assert AuditLog.objects.filter(action="user.registered", object_id=str(user["id"])).exists()


def test_register_with_the_required_fields_only(anon):
    body = {k: patient_body()[k] for k in ("email", "password", "first_name", "last_name")}
    response = anon.post(REGISTER, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["user"]["patient"]["date_of_birth"] is None


def test_register_stores_the_password_with_argon2(anon, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    anon.post(REGISTER, patient_body(), format="json")
    assert User.objects.get(email="new.patient@example.test").password.startswith("argon2")


def test_register_refuses_bad_input_with_fields(anon):
    response = anon.post(
        REGISTER,
        {"email": "not-an-email", "first_name": "", "gender": "dragon", "date_of_birth": "1/2/3"},
        format="json",
    )
    assert_error(
        response, 400, "invalid", fields={"email", "password", "first_name", "last_name", "gender", "date_of_birth"}
    )
    assert not User.objects.exists()


def test_register_refuses_a_weak_password(anon):
    response = anon.post(REGISTER, patient_body(password="password"), format="json")
    assert_error(response, 400, "invalid", fields={"password"})


def test_register_refuses_a_taken_email_whatever_its_case(anon, alice):
    response = anon.post(REGISTER, patient_body(email="ALICE@example.test"), format="json")
    assert_error(response, 400, "invalid", fields={"email"})


def test_register_ignores_unknown_fields_and_cannot_choose_a_role(anon):
    response = anon.post(REGISTER, patient_body(role="admin", is_staff=True), format="json")
    assert response.status_code == 201
    user = User.objects.get(email="new.patient@example.test")
    assert (user.role, user.is_staff, user.is_superuser) == (Role.PATIENT, False, False)


def test_register_ignores_a_token_it_does_not_need(anon):
    response = anon.post(REGISTER, patient_body(), format="json", **bearer("garbage"))
    assert response.status_code == 201


# --- register a doctor -------------------------------------------------------------------


def test_register_doctor_is_not_approved_nor_listed(anon, client_for, alice):
    response = anon.post(REGISTER_DOCTOR, doctor_body(), format="json")
    assert response.status_code == 201, response.content
    user = response.json()["user"]
    assert user["role"] == "doctor"
    assert user["patient"] is None
    assert user["doctor"]["specialization"] == "Cardiology"
    assert user["doctor"]["experience_years"] == 12
    assert user["doctor"]["is_approved"] is False
    listed = client_for(alice).get("/api/doctors/list/").json()["results"]
    assert user["doctor"]["id"] not in [d["id"] for d in listed]


def test_register_doctor_refuses_bad_input_with_fields(anon):
    response = anon.post(
        REGISTER_DOCTOR, doctor_body(specialization="", experience_years=-1, qualifications=None), format="json"
    )
    assert_error(response, 400, "invalid", fields={"specialization", "experience_years", "qualifications"})
    response = anon.post(REGISTER_DOCTOR, doctor_body(experience_years="many"), format="json")
    assert_error(response, 400, "invalid", fields={"experience_years"})


# --- login -------------------------------------------------------------------------------


def test_login_with_email_and_password(anon, alice):
    response = anon.post(LOGIN, {"email": " Alice@Example.test ", "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"]["id"] == alice.id
    assert body["user"]["patient"]["id"] == alice.patient.id
    assert anon.get(ME, **bearer(body["token"])).status_code == 200
    entry = AuditLog.objects.filter(action="auth.login").latest("id")
    assert entry.actor_id == alice.id
    assert entry.details == {"provider": "local"}
    assert entry.ip == "127.0.0.1"


@pytest.mark.parametrize(
    "credentials",
    [
        {"email": "alice@example.test", "password": "wrong-password"},
        {"email": "nobody@example.test", "password": PASSWORD},
    ],
    ids=["wrong-password", "unknown-email"],
)
def test_login_failures_look_the_same_and_are_audited(anon, alice, credentials):
    response = anon.post(LOGIN, credentials, format="json", HTTP_USER_AGENT="curl/8")
    body = assert_error(response, 401, "invalid_credentials")
    assert body["detail"] == "Unable to sign in with the credentials provided."
    entry = AuditLog.objects.filter(action="auth.login_failed").latest("id")
    assert entry.actor is None
    assert entry.details["email"] == credentials["email"]
    assert entry.user_agent == "curl/8"


def test_login_refuses_a_deactivated_account(anon, ada, alice):
    from accounts.services import user_deactivate

    user_deactivate(actor=ada, user=alice)
    response = anon.post(LOGIN, {"email": "alice@example.test", "password": PASSWORD}, format="json")
    assert_error(response, 401, "invalid_credentials")


def test_login_needs_a_token_or_email_and_password(anon):
    assert_error(anon.post(LOGIN, {}, format="json"), 400, "invalid", fields={"non_field_errors"})
    assert_error(anon.post(LOGIN, {"email": "a@b.test"}, format="json"), 400, "invalid", fields={"non_field_errors"})
    assert_error(anon.post(LOGIN, {"email": ["a"], "password": 1}, format="json"), 400, "invalid", fields={"email"})


def test_local_sign_in_can_be_switched_off(anon, alice, settings):
    settings.LOCAL_SIGN_IN_ENABLED = False
    response = anon.post(LOGIN, {"email": "alice@example.test", "password": PASSWORD}, format="json")
    assert_error(response, 401, "local_sign_in_disabled")


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/api/auth/register/", {}),
        (
            "/api/auth/register/doctor/",
            {"specialization": "GP", "qualifications": "MD", "experience_years": 3},
        ),
    ],
)
def test_sign_up_with_a_password_is_refused_when_local_sign_in_is_off(anon, settings, path, extra):
    # A password account made while local sign-in is off could never be signed into by its
    # owner, but it would hold the address until a Firebase sign-in linked it.
    settings.LOCAL_SIGN_IN_ENABLED = False
    body = {"email": "new@example.test", "password": PASSWORD, "first_name": "N", "last_name": "N", **extra}
    assert_error(anon.post(path, body, format="json"), 403, "local_sign_in_disabled")
    assert not User.objects.filter(email="new@example.test").exists()


def test_firebase_login_is_refused_when_firebase_is_not_configured(anon, settings):
    settings.FIREBASE_ENABLED = False
    response = anon.post(LOGIN, {"id_token": "a.b.c"}, format="json")
    assert_error(response, 401, "firebase_not_configured")


# --- tokens: logout, expiry, bad tokens -------------------------------------------------


def test_logout_revokes_the_token_and_only_that_one(anon, alice):
    first = anon.post(LOGIN, {"email": "alice@example.test", "password": PASSWORD}, format="json").json()["token"]
    second = anon.post(LOGIN, {"email": "alice@example.test", "password": PASSWORD}, format="json").json()["token"]
    response = anon.post(LOGOUT, **bearer(first))
    assert response.status_code == 204
    assert_error(anon.get(ME, **bearer(first)), 401, "authentication_failed")
    assert_error(anon.post(LOGOUT, **bearer(first)), 401, "authentication_failed")
    assert anon.get(ME, **bearer(second)).status_code == 200
    assert AuditLog.objects.filter(action="auth.logout", actor=alice).count() == 1


def test_logout_needs_a_token(anon):
    assert_error(anon.post(LOGOUT), 401, "not_authenticated")


def test_a_token_expires_after_token_ttl(anon, alice, settings):
    settings.TOKEN_TTL = timedelta(minutes=5)
    body = anon.post(LOGIN, {"email": "alice@example.test", "password": PASSWORD}, format="json").json()
    token = AuthToken.objects.get(key_hash=hash_token(body["token"]))
    assert token.expires_at - token.created_at == timedelta(minutes=5)
    assert anon.get(ME, **bearer(body["token"])).status_code == 200
    AuthToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(anon.get(ME, **bearer(body["token"])), 401, "authentication_failed")


def test_the_default_token_ttl_is_twelve_hours(settings):
    assert timedelta(hours=12) == settings.TOKEN_TTL


@pytest.mark.parametrize(
    "header",
    ["Bearer nope", "Bearer", "Bearer a b", "Bearer " + "x" * 300, "Token abc", "Bearer \u00e9t\u00e9"],
)
def test_bad_authorization_headers_get_401(anon, header):
    response = anon.get(ME, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["code"] in {"authentication_failed", "not_authenticated"}
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db(transaction=True)
def test_concurrent_sign_ups_with_one_email_make_one_account(settings):
    from rest_framework.test import APIClient

    settings.THROTTLE_ENABLED = False
    responses = run_together(4, lambda _: APIClient().post(REGISTER, patient_body(), format="json"))
    statuses = [(response.status_code, response.json()) for response in responses]
    assert sorted(status for status, _ in statuses) == [201, 400, 400, 400]
    assert all("email" in body["fields"] for status, body in statuses if status == 400)
    assert User.objects.filter(email="new.patient@example.test").count() == 1


def test_dead_tokens_are_purged_after_a_week(alice, bob):
    from accounts import tasks
    from accounts.services import token_issue

    live = token_issue(user=alice).token
    long_expired = token_issue(user=alice).token
    long_revoked = token_issue(user=bob).token
    recently_revoked = token_issue(user=bob).token
    eight_days_ago = timezone.now() - timedelta(days=8)
    AuthToken.objects.filter(key_hash=hash_token(long_expired)).update(expires_at=eight_days_ago)
    AuthToken.objects.filter(key_hash=hash_token(long_revoked)).update(revoked_at=eight_days_ago)
    AuthToken.objects.filter(key_hash=hash_token(recently_revoked)).update(revoked_at=timezone.now())
    assert tasks.purge_dead_tokens.delay().get() == 2
    remaining = set(AuthToken.objects.values_list("key_hash", flat=True))
    assert remaining == {hash_token(live), hash_token(recently_revoked)}


def test_the_purge_runs_daily_on_beat(settings):
    assert settings.CELERY_BEAT_SCHEDULE["accounts-purge-dead-tokens"]["task"] == "accounts.tasks.purge_dead_tokens"
