import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditLog
from clinic.registry import clear_cache, clinic_setting

pytestmark = pytest.mark.django_db


def _keys(response) -> set[str]:
    return {row["key"] for row in response.json()}


def test_admin_sees_every_setting_with_type_and_help(registered_settings, client_for, ada):
    response = client_for(ada).get("/api/settings/")
    assert response.status_code == 200
    rows = {row["key"]: row for row in response.json()}
    assert set(registered_settings) <= set(rows)
    fee = rows["test_visit_fee"]
    assert fee["type"] == "decimal"
    assert fee["value"] == "45.00"
    assert fee["help"] == "Fee of a visit."
    assert fee["public"] is False


def test_others_and_anonymous_see_only_public_settings(registered_settings, client_for, alice, anon):
    for client in (client_for(alice), anon):
        response = client.get("/api/settings/")
        assert response.status_code == 200
        assert "test_booking_horizon_days" in _keys(response)
        assert "test_visit_fee" not in _keys(response)
        assert all(row["public"] for row in response.json())


def test_bad_token_is_401_even_where_anyone_may_read(registered_settings, anon):
    anon.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert anon.get("/api/settings/").status_code == 401


def test_admin_changes_a_setting_and_it_is_audited(registered_settings, client_for, ada):
    response = client_for(ada).put("/api/settings/test_booking_horizon_days/", {"value": 90}, format="json")
    assert response.status_code == 200
    assert response.json()["value"] == 90
    assert clinic_setting("test_booking_horizon_days") == 90
    entry = AuditLog.objects.filter(action="setting.changed").get()
    assert entry.actor == ada
    assert entry.object_id == "test_booking_horizon_days"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("test_booking_horizon_days", "ninety", "Must be a whole number."),
        ("test_booking_horizon_days", 0, "Must be at least 1."),
        ("test_booking_horizon_days", 366, "Must be at most 365."),
        ("test_booking_horizon_days", True, "Must be a whole number."),
        ("test_visit_fee", "-3", "Must be a non-negative decimal number."),
        ("test_visit_fee", "lots", "Must be a decimal number."),
        ("test_open_checkin", "yes", "Must be true or false."),
        ("timezone", "Mars/Olympus", "Must be an IANA time zone name, such as Europe/London."),
        ("timezone", 3, "Must be an IANA time zone name, such as Europe/London."),
        ("test_reminder_hours", [24, "2"], "Must be a list of whole numbers."),
    ],
)
def test_type_validation_is_400_with_fields(registered_settings, client_for, ada, key, value, message):
    response = client_for(ada).put(f"/api/settings/{key}/", {"value": value}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"value": [message]}


def test_missing_value_is_400(registered_settings, client_for, ada):
    response = client_for(ada).put("/api/settings/test_booking_horizon_days/", {}, format="json")
    assert response.status_code == 400
    assert "value" in response.json()["fields"]


def test_decimal_setting_round_trips_as_a_string(registered_settings, client_for, ada):
    response = client_for(ada).put("/api/settings/test_visit_fee/", {"value": "50.5"}, format="json")
    assert response.status_code == 200
    assert response.json()["value"] == "50.5"


def test_unknown_key_is_404(registered_settings, client_for, ada):
    response = client_for(ada).put("/api/settings/no_such_setting/", {"value": 1}, format="json")
    assert response.status_code == 404


def test_only_admins_change_settings(registered_settings, client_for, alice, carol, rita, anon):
    url = "/api/settings/test_booking_horizon_days/"
    assert anon.put(url, {"value": 5}, format="json").status_code == 401
    for user in (alice, carol, rita):
        assert client_for(user).put(url, {"value": 5}, format="json").status_code == 403
    assert clinic_setting("test_booking_horizon_days") == 60


def test_listing_reads_every_setting_in_one_query(registered_settings, client_for, ada):
    client = client_for(ada)
    clear_cache()
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/settings/").status_code == 200
    # The token lookup, then one read of the settings table.
    assert len([q for q in queries if "core_clinicsetting" in q["sql"]]) == 1
