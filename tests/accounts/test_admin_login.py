"""/admin/login/: the same throttle and audit as the API's sign-in, and a Firebase-only switch."""

import pytest
from django.test import Client

from audit.models import AuditLog
from tests.accounts import firebase_fakes as fakes
from tests.accounts.test_firebase import account, google, google_key  # noqa: F401 (fixtures)
from tests.backoffice import admin_login, csrf_token
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


def attempt(client: Client, **fields: str):
    page = client.get(LOGIN)
    return client.post(LOGIN, {**fields, "csrfmiddlewaretoken": csrf_token(page.content.decode())})


def test_a_failed_admin_sign_in_is_audited(ada):
    response = attempt(Client(enforce_csrf_checks=True), username=ada.email, password="wrong-password")
    assert response.status_code == 200  # the form again, with its error
    entry = AuditLog.objects.filter(action="auth.login_failed").latest("id")
    assert entry.details == {"provider": "admin", "email": ada.email}


def test_a_good_admin_sign_in_is_audited(ada):
    admin_login(ada.email)
    assert AuditLog.objects.filter(action="auth.login", actor=ada, details__provider="admin").exists()


def test_admin_sign_in_is_throttled_like_the_api(ada, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": "3/minute"}
    client = Client(enforce_csrf_checks=True)
    for _ in range(3):
        assert attempt(client, username=ada.email, password="guess").status_code == 200
    # Even the right password waits: guessing must not be able to tell it apart.
    throttled = attempt(client, username=ada.email, password=PASSWORD)
    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert "_auth_user_id" not in client.session


def test_admin_password_sign_in_is_off_when_local_sign_in_is(ada, settings):
    settings.LOCAL_SIGN_IN_ENABLED = False
    client = Client(enforce_csrf_checks=True)
    response = attempt(client, username=ada.email, password=PASSWORD)
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    entry = AuditLog.objects.filter(action="auth.login_failed").latest("id")
    assert entry.details == {"provider": "admin", "email": ada.email, "reason": "local_sign_in_disabled"}


def test_firebase_only_admin_sign_in_takes_an_id_token(ada, alice, settings, google, google_key):  # noqa: F811
    settings.LOCAL_SIGN_IN_ENABLED = False
    ada.firebase_uid = "uid-ada"
    ada.save(update_fields=["firebase_uid"])
    google.accounts["uid-ada"] = account("uid-ada")
    client = Client(enforce_csrf_checks=True)
    response = attempt(client, id_token=fakes.sign_id_token(google_key, uid="uid-ada", email=ada.email))
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert AuditLog.objects.filter(action="auth.login", actor=ada, details__provider="admin-firebase").exists()

    # A patient's valid Firebase token does not open the back office.
    alice.firebase_uid = "uid-alice"
    alice.save(update_fields=["firebase_uid"])
    google.accounts["uid-alice"] = account("uid-alice")
    other = Client(enforce_csrf_checks=True)
    refused = attempt(other, id_token=fakes.sign_id_token(google_key, uid="uid-alice", email=alice.email))
    assert refused.status_code == 403
    assert "_auth_user_id" not in other.session
