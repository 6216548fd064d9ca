"""/metrics in one process: who may read it, and that a booking moves the counters."""

import pytest

from tests.observability.scrape import moved, value
from tests.scheduling.helpers import free_slots, give_hours

pytestmark = pytest.mark.django_db

BOOK = "/api/appointments/book/"
BOOK_ROUTE = "api/appointments/book/"


def _book(client, doctor, slot):
    return client.post(BOOK, {"doctor": doctor.doctor.id, "start": slot.start.isoformat()}, format="json")


@pytest.fixture
def carol_slot(carol, ada):
    give_hours(carol, ada)
    return free_slots(carol)[0]


def test_metrics_are_off_without_a_token(anon, settings):
    settings.METRICS_TOKEN = ""
    assert anon.get("/metrics").status_code == 404
    assert anon.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_metrics_refuse_a_missing_or_wrong_token(anon, client_for, ada, metrics_on):
    assert anon.get("/metrics").status_code == 401
    assert anon.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert anon.get("/metrics", HTTP_AUTHORIZATION=f"Basic {metrics_on}").status_code == 401
    # An admin's API token is not the metrics token.
    assert client_for(ada).get("/metrics").status_code == 401


def test_a_booking_moves_the_counters(client_for, alice, carol, carol_slot, scrape, django_capture_on_commit_callbacks):
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        response = _book(client_for(alice), carol, carol_slot)
    assert response.status_code == 201, response.json()
    after = scrape()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("clinic_http_requests_total", method="POST", route=BOOK_ROUTE, status="201") == 1
    assert moved("clinic_http_request_duration_seconds_count", method="POST", route=BOOK_ROUTE) == 1
    assert moved("clinic_domain_actions_total", action="appointment.booked") == 1
    assert moved("clinic_realtime_events_stored_total", topic="doctor.{id}.availability") == 1
    assert moved("clinic_realtime_events_sent_total", path="after_commit") >= 1
    assert moved("clinic_realtime_fanout_publish_seconds_count") >= 1
    # The patient's booking notifications: in-app at once, SMS/email handed to the worker.
    assert moved("clinic_notification_deliveries_total", channel="in_app", state="sent") == 1
    assert moved("clinic_notification_deliveries_total", channel="email", state="pending") == 1


def test_a_taken_slot_is_counted_as_a_409_with_its_reason(client_for, alice, bob, carol, carol_slot, scrape):
    assert _book(client_for(alice), carol, carol_slot).status_code == 201
    before = scrape()
    assert _book(client_for(bob), carol, carol_slot).status_code == 409
    after = scrape()
    labels = {"route": BOOK_ROUTE, "status": "409", "code": "slot_unavailable", "reason": "slot_taken"}
    assert value(after, "clinic_api_errors_total", **labels) - value(before, "clinic_api_errors_total", **labels) == 1
    requests = {"method": "POST", "route": BOOK_ROUTE, "status": "409"}
    assert (
        value(after, "clinic_http_requests_total", **requests) - value(before, "clinic_http_requests_total", **requests)
        == 1
    )


def test_a_patient_busy_elsewhere_is_a_409_of_its_own_reason(client_for, alice, carol, dave, ada, scrape):
    give_hours(carol, ada)
    give_hours(dave, ada)
    slot = free_slots(carol)[0]
    assert _book(client_for(alice), carol, slot).status_code == 201
    same_time = next(s for s in free_slots(dave) if s.start == slot.start)
    before = scrape()
    assert _book(client_for(alice), dave, same_time).status_code == 409
    labels = {"status": "409", "code": "slot_unavailable", "reason": "patient_busy"}
    assert moved(before, scrape(), "clinic_api_errors_total", **labels) == 1


@pytest.mark.django_db(transaction=True)
def test_a_lost_race_is_counted_by_its_database_cause(client_for, alice, carol, ada, scrape, settings):
    """The slot's row is held by another transaction past the lock timeout: 409, reason lock_timeout."""
    import psycopg
    from django.db import connection

    settings.SCHEDULING_LOCK_TIMEOUT_MS = 200
    give_hours(carol, ada)
    slot = free_slots(carol)[0]
    before = scrape()
    with psycopg.connect(**connection.get_connection_params()) as other, other.transaction():
        other.execute("SELECT 1 FROM scheduling_slot WHERE id = %s FOR UPDATE", [slot.pk])
        assert _book(client_for(alice), carol, slot).status_code == 409
    labels = {"route": BOOK_ROUTE, "status": "409", "code": "slot_unavailable", "reason": "lock_timeout"}
    assert moved(before, scrape(), "clinic_api_errors_total", **labels) == 1


def test_routes_are_patterns_not_paths(client_for, alice, scrape):
    before = scrape()
    assert client_for(alice).get("/api/appointments/987654/").status_code == 404
    after = scrape()
    route = {"route": "api/appointments/<int:appointment_id>/", "status": "404"}
    assert (
        value(after, "clinic_http_requests_total", **route) - value(before, "clinic_http_requests_total", **route) == 1
    )
    assert not any("987654" in dict(labels).get("route", "") for _, labels in after)


def test_scrape_time_readings(scrape):
    scraped = scrape()
    assert ("clinic_realtime_outbox_lag_seconds", frozenset()) in scraped
    assert ("clinic_realtime_outbox_unsent", frozenset()) in scraped
    assert value(scraped, "clinic_db_connections") >= 1
    assert ("clinic_celery_queue_length", frozenset({("queue", "celery")})) in scraped


def test_the_pool_gauge_counts_connections_in_use_and_idle(scrape):
    from django.db import connection
    from psycopg_pool import ConnectionPool

    from observability import pool as pool_gauge

    params = connection.get_connection_params()
    with ConnectionPool(kwargs=params, min_size=2, max_size=2, open=True) as pool:
        pool.wait()
        with pool.connection():
            pool_gauge.record(pool)
            scraped = scrape()
            assert value(scraped, "clinic_db_pool_connections", state="in_use") == 1
            assert value(scraped, "clinic_db_pool_connections", state="idle") == 1
        pool_gauge.record(pool)
        assert value(scrape(), "clinic_db_pool_connections", state="in_use") == 0
