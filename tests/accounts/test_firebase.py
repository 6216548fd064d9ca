"""Firebase sign-in, offline: tokens we sign ourselves, verified by the real firebase-admin."""

import contextlib
import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import firebase_admin
import pytest

from accounts import identity
from accounts.models import User
from audit.models import AuditLog
from core.roles import Role
from tests.accounts import firebase_fakes as fakes
from tests.assertions import assert_error
from tests.concurrency import run_together

LOGIN = "/api/auth/login/"

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def google_key() -> fakes.SigningKey:
    return fakes.make_signing_key("key-1")


@pytest.fixture(scope="module")
def stranger_key() -> fakes.SigningKey:
    """Someone else's key, published under the same kid: its signatures must not verify."""
    return fakes.make_signing_key("key-1")


@pytest.fixture
def google(google_key, settings, tmp_path):
    """Firebase configured for the test project, Google's endpoints served locally."""
    fake = fakes.FakeGoogle(certificates={google_key.kid: google_key.certificate_pem})
    server = fakes.LocalGoogleServer(fake)
    settings.FIREBASE_PROJECT_ID = fakes.PROJECT_ID
    settings.FIREBASE_ENABLED = True
    settings.FIREBASE_CHECK_REVOKED = True
    settings.FIREBASE_CREDENTIALS_FILE = str(fakes.service_account_file(tmp_path, fake, google_key))
    identity.firebase_app.cache_clear()
    with contextlib.suppress(ValueError):  # no app left over from another test
        firebase_admin.delete_app(firebase_admin.get_app(identity.APP_NAME))
    app = identity.firebase_app()
    fakes.route_to_local(app, fake)
    try:
        yield fake
    finally:
        firebase_admin.delete_app(app)
        identity.firebase_app.cache_clear()
        server.close()


def account(uid: str, **fields) -> dict:
    return {"localId": uid, "email": f"{uid}@example.test", "validSince": "1", "disabled": False, **fields}


def sign_in(client, token):
    return client.post(LOGIN, {"id_token": token}, format="json")


def refused(response, reason):
    assert_error(response, 401, "invalid_credentials")
    entry = AuditLog.objects.filter(action="auth.login_failed").latest("id")
    assert entry.details == {"provider": "firebase", "reason": reason}


# --- good tokens -------------------------------------------------------------------------


def test_first_sign_in_creates_a_patient_and_the_second_finds_them(anon, google, google_key):
    google.accounts["uid-nia"] = account("uid-nia")
    token = fakes.sign_id_token(
        google_key, uid="uid-nia", email="Nia@Example.test", email_verified=True, name="Nia Nolan"
    )
    response = sign_in(anon, token)
    assert response.status_code == 200, response.content
    body = response.json()
    user = User.objects.get(firebase_uid="uid-nia")
    assert body["user"]["id"] == user.id
    assert (user.email, user.first_name, user.last_name, user.role) == (
        "nia@example.test",
        "Nia",
        "Nolan",
        Role.PATIENT,
    )
    assert body["user"]["patient"]["id"] == user.patient.id
    assert not user.has_usable_password()
    me = anon.get("/api/users/me/", HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert me.json()["id"] == user.id

    again = sign_in(anon, fakes.sign_id_token(google_key, uid="uid-nia", email="nia@example.test"))
    assert again.json()["user"]["id"] == user.id
    assert User.objects.filter(firebase_uid="uid-nia").count() == 1
    logins = AuditLog.objects.filter(action="auth.login", actor=user)
    assert [e.details for e in logins] == [{"provider": "firebase"}] * 2
    # The SDK fetched our certificates, asked for a service-account token, then looked the user up.
    paths = google.paths()
    assert fakes.CERTS_PATH in paths
    assert "/token" in paths
    assert f"/v1/projects/{fakes.PROJECT_ID}/accounts:lookup" in paths


def test_a_token_without_email_still_makes_a_patient(anon, google, google_key):
    google.accounts["uid-phone"] = account("uid-phone")
    response = sign_in(anon, fakes.sign_id_token(google_key, uid="uid-phone", phone_number="+447700900123"))
    assert response.status_code == 200, response.content
    user = User.objects.get(firebase_uid="uid-phone")
    assert (user.email, user.phone) == ("firebase-uid-phone@users.invalid", "+447700900123")


def test_a_verified_email_links_the_existing_local_account(anon, google, google_key, alice):
    google.accounts["uid-alice"] = account("uid-alice")
    token = fakes.sign_id_token(google_key, uid="uid-alice", email="alice@example.test", email_verified=True)
    response = sign_in(anon, token)
    assert response.status_code == 200, response.content
    assert response.json()["user"]["id"] == alice.id
    alice.refresh_from_db()
    assert alice.firebase_uid == "uid-alice"
    assert AuditLog.objects.filter(action="auth.firebase_linked", actor=alice).exists()


def test_linking_revokes_what_a_squatter_set_up_before_the_owner_arrived(anon, google, google_key):
    # Mallory signs up locally with Nia's address (never verified) and keeps a token;
    # Nia later signs in with Firebase, which has verified the address is hers.
    squatter = anon.post(
        "/api/auth/register/",
        {"email": "nia@example.test", "password": "Squat-Pass-2026!", "first_name": "N", "last_name": "N"},
        format="json",
    )
    assert squatter.status_code == 201
    squatter_token = squatter.json()["token"]
    google.accounts["uid-nia"] = account("uid-nia")
    token = fakes.sign_id_token(google_key, uid="uid-nia", email="nia@example.test", email_verified=True)
    assert sign_in(anon, token).status_code == 200

    # The password and token Mallory chose no longer open the account.
    assert anon.get("/api/users/me/", HTTP_AUTHORIZATION=f"Bearer {squatter_token}").status_code == 401
    login = anon.post(LOGIN, {"email": "nia@example.test", "password": "Squat-Pass-2026!"}, format="json")
    assert_error(login, 401, "invalid_credentials")
    entry = AuditLog.objects.filter(action="auth.firebase_linked").latest("id")
    assert entry.details == {"password_reset": True, "tokens_revoked": 1}


def test_an_unverified_email_does_not_take_over_a_local_account(anon, google, google_key, alice):
    google.accounts["uid-mallory"] = account("uid-mallory")
    token = fakes.sign_id_token(google_key, uid="uid-mallory", email="alice@example.test", email_verified=False)
    refused(sign_in(anon, token), "email_unverified_or_linked")
    alice.refresh_from_db()
    assert alice.firebase_uid is None
    assert not User.objects.filter(firebase_uid="uid-mallory").exists()


def test_a_second_firebase_uid_cannot_claim_a_linked_account(anon, google, google_key, alice):
    alice.firebase_uid = "uid-alice"
    alice.save(update_fields=["firebase_uid"])
    google.accounts["uid-other"] = account("uid-other")
    token = fakes.sign_id_token(google_key, uid="uid-other", email="alice@example.test", email_verified=True)
    refused(sign_in(anon, token), "email_unverified_or_linked")


def test_a_deactivated_user_cannot_sign_in_with_firebase(anon, google, google_key, ada, alice):
    from accounts.services import user_deactivate

    alice.firebase_uid = "uid-alice"
    alice.save(update_fields=["firebase_uid"])
    user_deactivate(actor=ada, user=alice)
    google.accounts["uid-alice"] = account("uid-alice")
    # Deactivation unlinked the uid, so this is a new sign-up with a fresh account...
    response = sign_in(anon, fakes.sign_id_token(google_key, uid="uid-alice"))
    assert response.status_code == 200
    assert response.json()["user"]["id"] != alice.id


# --- refused tokens ----------------------------------------------------------------------


def test_an_expired_token_is_refused(anon, google, google_key):
    now = int(time.time())
    token = fakes.sign_id_token(google_key, uid="uid-late", iat=now - 7200, auth_time=now - 7200, exp=now - 3600)
    refused(sign_in(anon, token), "ExpiredIdTokenError")
    assert not User.objects.filter(firebase_uid="uid-late").exists()


def test_a_token_for_another_project_is_refused(anon, google, google_key):
    token = fakes.sign_id_token(google_key, uid="uid-x", aud="someone-elses-project")
    refused(sign_in(anon, token), "InvalidIdTokenError")


def test_a_token_from_another_issuer_is_refused(anon, google, google_key):
    token = fakes.sign_id_token(google_key, uid="uid-x", iss="https://evil.example/clinic-test-project")
    refused(sign_in(anon, token), "InvalidIdTokenError")


def test_a_token_with_a_bad_signature_is_refused(anon, google, stranger_key):
    refused(sign_in(anon, fakes.sign_id_token(stranger_key, uid="uid-x")), "InvalidIdTokenError")


def test_a_token_signed_by_an_unknown_key_is_refused(anon, google, stranger_key):
    unknown = dataclasses.replace(stranger_key, kid="key-unknown")
    refused(sign_in(anon, fakes.sign_id_token(unknown, uid="uid-x")), "InvalidIdTokenError")


def test_a_token_without_kid_is_refused(anon, google, google_key):
    token = fakes.sign_id_token(dataclasses.replace(google_key, kid=""), uid="uid-x")
    refused(sign_in(anon, token), "InvalidIdTokenError")


def test_a_revoked_token_is_refused(anon, google, google_key):
    now = int(time.time())
    token = fakes.sign_id_token(google_key, uid="uid-gone", iat=now - 100, auth_time=now - 100)
    # The user's sessions were revoked after the token was issued.
    google.accounts["uid-gone"] = account("uid-gone", validSince=str(now - 50))
    refused(sign_in(anon, token), "RevokedIdTokenError")
    assert not User.objects.filter(firebase_uid="uid-gone").exists()


def test_a_token_issued_after_revocation_is_accepted(anon, google, google_key):
    now = int(time.time())
    google.accounts["uid-back"] = account("uid-back", validSince=str(now - 50))
    token = fakes.sign_id_token(google_key, uid="uid-back", iat=now - 10, auth_time=now - 10)
    assert sign_in(anon, token).status_code == 200


def test_a_disabled_firebase_user_is_refused(anon, google, google_key):
    google.accounts["uid-off"] = account("uid-off", disabled=True)
    refused(sign_in(anon, fakes.sign_id_token(google_key, uid="uid-off")), "UserDisabledError")


def test_revocation_is_not_checked_without_a_credential(anon, google, google_key, settings):
    settings.FIREBASE_CREDENTIALS_FILE = ""
    google.accounts["uid-gone"] = account("uid-gone", validSince=str(int(time.time()) + 60))
    assert sign_in(anon, fakes.sign_id_token(google_key, uid="uid-gone")).status_code == 200
    assert not any("accounts:lookup" in path for path in google.paths())


def test_clock_skew_is_a_setting(anon, google, google_key, settings):
    google.accounts["uid-early"] = account("uid-early")
    now = int(time.time())
    token = fakes.sign_id_token(google_key, uid="uid-early", iat=now + 30, auth_time=now + 30)
    refused(sign_in(anon, token), "InvalidIdTokenError")
    settings.FIREBASE_CLOCK_SKEW_SECONDS = 60
    assert sign_in(anon, token).status_code == 200


@pytest.mark.parametrize("token", ["not-a-jwt", "a.b.c", "x" * 8000, "eyJhbGciOiJub25lIn0.e30."])
def test_garbage_tokens_are_refused_without_a_crash(anon, google, token):
    assert_error(sign_in(anon, token), 401, "invalid_credentials")


def test_an_unreachable_certificate_server_refuses_sign_in(anon, google, google_key):
    google.certificates.clear()
    refused(sign_in(anon, fakes.sign_id_token(google_key, uid="uid-x")), "InvalidIdTokenError")


# --- the emulator ------------------------------------------------------------------------


def _import_settings(**env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "FIREBASE_AUTH_EMULATOR_HOST"}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=Path(__file__).resolve().parents[2],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_app_refuses_to_start_with_the_emulator_in_production():
    result = _import_settings(DEBUG="false", SECRET_KEY="x" * 50, FIREBASE_AUTH_EMULATOR_HOST="127.0.0.1:9099")
    assert result.returncode != 0
    assert "FIREBASE_AUTH_EMULATOR_HOST must not be set in production" in result.stderr


def test_the_emulator_is_allowed_in_development():
    result = _import_settings(DEBUG="true", FIREBASE_AUTH_EMULATOR_HOST="127.0.0.1:9099")
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_sign_ins_of_one_uid_make_one_user(google, google_key):
    from rest_framework.test import APIClient

    google.accounts["uid-twin"] = account("uid-twin")
    token = fakes.sign_id_token(google_key, uid="uid-twin", email="twin@example.test", email_verified=True)
    responses = run_together(4, lambda _: sign_in(APIClient(), token))
    answers = [(r.status_code, r.json().get("user", {}).get("id"), r.content) for r in responses]
    assert len(answers) == 4
    assert {status for status, _, _ in answers} == {200}, answers
    assert len({user_id for _, user_id, _ in answers}) == 1
    assert User.objects.filter(firebase_uid="uid-twin").count() == 1
