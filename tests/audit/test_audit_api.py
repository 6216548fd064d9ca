"""GET /api/audit-logs/list/ and GET /api/audit-logs/{id}/ (contract §8)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditLog
from audit.services import audit_record
from tests.assertions import assert_error
from tests.factories import PASSWORD

LIST = "/api/audit-logs/list/"

pytestmark = pytest.mark.django_db


def test_admin_lists_audit_entries_newest_first(client_for, ada, alice):
    entry = audit_record(actor=alice, action="test.happened", obj=alice, details={"why": "because"})
    body = client_for(ada).get(LIST).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["results"][0] == {
        "id": entry.id,
        "actor": alice.id,
        "action": "test.happened",
        "object_type": "user",
        "object_id": str(alice.id),
        "ip": None,
        "at": entry.at.isoformat().replace("+00:00", "Z"),
        "details": {"why": "because"},
    }
    ids = [row["id"] for row in body["results"]]
    assert ids == sorted(ids, reverse=True)


def test_list_filters_by_actor_action_and_since(client_for, ada, alice, bob):
    old = audit_record(actor=alice, action="test.old")
    alice_entry = audit_record(actor=alice, action="test.one")
    bob_entry = audit_record(actor=bob, action="test.one")
    client = client_for(ada)

    def ids(**params):
        response = client.get(LIST, params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids(actor=alice.id, action="test.one") == [alice_entry.id]
    assert ids(action="test.one") == [bob_entry.id, alice_entry.id]
    assert set(ids(actor=bob.id)) >= {bob_entry.id}
    assert all(row_id > old.id for row_id in ids(since=alice_entry.at.isoformat()))
    assert ids(since=(timezone.now() + timedelta(hours=1)).isoformat()) == []
    assert ids(action="no.such.action") == []


def test_list_refuses_bad_filters_with_fields(client_for, ada):
    response = client_for(ada).get(LIST, {"actor": "me", "since": "last tuesday", "action": "x" * 65})
    assert_error(response, 400, "invalid", fields={"actor", "since", "action"})


def test_list_needs_a_token(anon):
    assert_error(anon.get(LIST), 401, "not_authenticated")


@pytest.mark.parametrize("persona", ["alice", "carol", "rita"])
def test_audit_is_for_admins_only(client_for, ada, persona, request):
    entry = audit_record(actor=ada, action="test.secret")
    client = client_for(request.getfixturevalue(persona))
    assert_error(client.get(LIST), 403, "permission_denied")
    assert_error(client.get(f"/api/audit-logs/{entry.id}/"), 403, "permission_denied")


def test_detail_shows_one_entry(client_for, ada, alice):
    entry = audit_record(actor=None, action="test.system", details={"n": 1})
    response = client_for(ada).get(f"/api/audit-logs/{entry.id}/")
    assert response.status_code == 200
    assert response.json()["actor"] is None
    assert response.json()["details"] == {"n": 1}


def test_detail_of_an_unknown_entry_is_404(client_for, ada):
    assert_error(client_for(ada).get("/api/audit-logs/999999999/"), 404, "not_found")


def test_detail_needs_a_token(anon, ada):
    entry = audit_record(actor=ada, action="test.x")
    assert_error(anon.get(f"/api/audit-logs/{entry.id}/"), 401, "not_authenticated")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_nobody_can_change_an_entry_through_the_api(client_for, ada, method):
    entry = audit_record(actor=ada, action="test.fixed")
    client = client_for(ada)
    for url in (LIST, f"/api/audit-logs/{entry.id}/"):
        response = getattr(client, method)(url, {"action": "test.rewritten"}, format="json")
        assert_error(response, 405, "method_not_allowed")
    assert AuditLog.objects.get(pk=entry.pk).action == "test.fixed"


def test_sign_ins_failed_sign_ins_and_account_changes_are_audited(anon, client_for, ada):
    anon.post(
        "/api/auth/register/",
        {"email": "eve@example.test", "password": PASSWORD, "first_name": "Eve", "last_name": "E"},
        format="json",
        REMOTE_ADDR="203.0.113.7",
        HTTP_USER_AGENT="portal/1.0",
    )
    anon.post("/api/auth/login/", {"email": "eve@example.test", "password": "nope"}, format="json")
    token = anon.post("/api/auth/login/", {"email": "eve@example.test", "password": PASSWORD}, format="json").json()[
        "token"
    ]
    anon.put("/api/users/update/", {"first_name": "Evie"}, format="json", HTTP_AUTHORIZATION=f"Bearer {token}")
    anon.post("/api/auth/logout/", HTTP_AUTHORIZATION=f"Bearer {token}")
    actions = list(AuditLog.objects.order_by("id").values_list("action", flat=True))
    assert actions[-5:] == ["user.registered", "auth.login_failed", "auth.login", "user.updated", "auth.logout"]
    registered = AuditLog.objects.get(action="user.registered", details__role="patient", ip="203.0.113.7")
    assert registered.user_agent == "portal/1.0"
