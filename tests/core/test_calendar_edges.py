"""Dates and datetimes at the edges of the calendar are 400, never 500."""

import pytest

from tests.assertions import assert_error

EDGE_DATES = ["9999-12-31", "0001-01-01"]
EDGE_DATETIMES = ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59+00:00"]


@pytest.mark.django_db
@pytest.mark.parametrize("day", EDGE_DATES)
def test_date_queries_at_the_edges(client_for, ada, carol, day):
    doctor = carol.doctor.id
    client = client_for(ada)
    for path, params, field in [
        (f"/api/doctors/{doctor}/availability/", {"date": day}, "date"),
        (f"/api/doctors/{doctor}/availability/", {"from": day, "to": day}, "from"),
        ("/api/appointments/list/", {"date": day}, "date"),
        (f"/api/doctors/{doctor}/queue/", {"date": day}, "date"),
    ]:
        response = client.get(path, params)
        assert_error(response, 400, "invalid", fields={field})


@pytest.mark.django_db
@pytest.mark.parametrize("moment", EDGE_DATETIMES)
def test_datetimes_in_bodies_and_queries_at_the_edges(client_for, ada, alice, carol, moment):
    doctor = carol.doctor.id
    assert client_for(ada).get("/api/audit-logs/list/", {"since": moment}).status_code == 400
    booked = client_for(alice).post("/api/appointments/book/", {"doctor": doctor, "start": moment}, format="json")
    assert booked.status_code == 400
    exception = client_for(carol).post(
        f"/api/doctors/{doctor}/availability/exceptions/", {"start": moment, "end": moment}, format="json"
    )
    assert exception.status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("day", EDGE_DATES)
def test_dates_in_bodies_at_the_edges(client_for, anon, carol, day):
    rule = {"weekday": 0, "start_time": "09:00", "end_time": "10:00", "valid_from": day, "valid_until": day}
    response = client_for(carol).post(f"/api/doctors/{carol.doctor.id}/availability/rules/", rule, format="json")
    assert_error(response, 400, "invalid", fields={"valid_from", "valid_until"})
    body = {"email": "edge@example.test", "password": "Edge-Pass-2026!", "first_name": "E", "last_name": "E"}
    signup = anon.post("/api/auth/register/", {**body, "date_of_birth": day}, format="json")
    assert_error(signup, 400, "invalid", fields={"date_of_birth"})
