"""Structured logs: the request id (X-Request-ID in and out), the user and the route on every
line of a request, and on the lines of the tasks and events it caused."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from django.conf import settings

from observability import context
from observability.logs import ContextFilter, JsonFormatter, PlainFormatter
from tests.scheduling.helpers import free_slots, give_hours


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """Every log record of the test, as the JSON formatter writes it (LOG_FORMAT=json)."""
    config = settings.LOGGING["formatters"]["json"]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(config["format"], rename_fields=config["rename_fields"]))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_carries_the_context_and_extras(json_lines):
    token = context.start(request_id="req-1", user_id=7, route="api/things/")
    try:
        logging.getLogger("clinic.test").warning("hello %s", "there", extra={"doctor": 3})
    finally:
        context.end(token)
    logging.getLogger("clinic.test").warning("outside")
    inside, outside = records(json_lines)
    assert inside["message"] == "hello there" and inside["level"] == "WARNING" and inside["logger"] == "clinic.test"
    assert inside["request_id"] == "req-1" and inside["user_id"] == 7 and inside["route"] == "api/things/"
    assert inside["doctor"] == 3 and "time" in inside
    assert not {"request_id", "user_id", "route", "task"} & set(outside)


def test_the_default_format_stays_readable():
    assert settings.LOG_FORMAT == "plain"
    formatter = PlainFormatter("%(levelname)s %(name)s %(message)s")
    record = logging.LogRecord("clinic.test", logging.INFO, __file__, 1, "booked %s", ("it",), None)
    ContextFilter().filter(record)
    assert formatter.format(record) == "INFO clinic.test booked it"
    token = context.start(request_id="abc", user_id=4)
    try:
        record = logging.LogRecord("clinic.test", logging.INFO, __file__, 1, "booked", (), None)
        ContextFilter().filter(record)
    finally:
        context.end(token)
    assert formatter.format(record) == "INFO clinic.test booked [abc user=4]"


@pytest.mark.django_db
def test_a_sane_request_id_is_kept_and_echoed(anon, json_lines):
    response = anon.get("/api/health/live", HTTP_X_REQUEST_ID="edge-42.a:b")
    assert response["X-Request-ID"] == "edge-42.a:b"
    line = next(r for r in records(json_lines) if r["logger"] == "clinic.request")
    assert line["request_id"] == "edge-42.a:b" and line["route"] == "api/health/live/?$"
    assert line["status"] == 200 and line["method"] == "GET"


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["", "has space", "x" * 129, "new\nline", "{json}"])
def test_another_request_id_is_replaced(anon, header):
    response = anon.get("/api/health/live", HTTP_X_REQUEST_ID=header)
    assert response["X-Request-ID"] != header
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.django_db(transaction=True)
def test_the_id_follows_the_user_the_events_and_the_tasks_of_a_request(client_for, alice, carol, ada, json_lines):
    give_hours(carol, ada)
    slot = free_slots(carol)[0]
    response = client_for(alice).post(
        "/api/appointments/book/",
        {"doctor": carol.doctor.pk, "start": slot.start.isoformat()},
        format="json",
        HTTP_X_REQUEST_ID="booking-1",
    )
    assert response.status_code == 201, response.json()
    mine = [r for r in records(json_lines) if r.get("request_id") == "booking-1"]
    assert all(r["user_id"] == alice.pk and r["route"] == "api/appointments/book/" for r in mine)
    stored = [r for r in mine if r["logger"] == "realtime.publish" and "stored on" in r["message"]]
    assert any("slot.booked" in r["message"] for r in stored)
    # The booking's notifications were made and its email sent in Celery (eager here;
    # tests/observability/test_deployment shows the same with a real worker), and those
    # lines carry the request's id and the task, the console sender's included.
    sent = [r for r in mine if r["logger"] == "notifications.senders"]
    assert sent and all(r.get("task") == "notifications.notify_appointment" for r in sent)
    assert any(r["logger"] == "clinic.request" and r["status"] == 201 for r in mine)
