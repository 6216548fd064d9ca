"""The application's access log (core.access_log): one line per request, no credentials."""

import logging

import pytest
from channels.testing import HttpCommunicator

from config.asgi import application
from core.access_log import redacted_query

HOST = [(b"host", b"127.0.0.1")]


def test_secret_query_values_are_redacted_and_the_rest_kept():
    assert redacted_query(b"doctor=3&token=dsp_secret") == "doctor=3&token=***"
    assert redacted_query(b"sig=abc.def&Token=x&q=a%20b") == "sig=***&Token=***&q=a%20b"
    assert redacted_query(b"") == ""


@pytest.mark.django_db(transaction=True)
async def test_one_line_per_request_without_the_display_token(caplog):
    caplog.set_level(logging.INFO)
    communicator = HttpCommunicator(application, "GET", "/display/?doctor=1&token=dsp_leak_me", headers=HOST)
    response = await communicator.get_response(timeout=10)
    await communicator.wait(10)  # the access line is written once the application returns
    assert response["status"] == 403
    communicator = HttpCommunicator(application, "GET", "/api/doctors/", headers=HOST)
    assert (await communicator.get_response(timeout=10))["status"] == 404
    await communicator.wait(10)

    lines = [record.getMessage() for record in caplog.records]
    assert not any("dsp_leak_me" in line for line in lines), lines
    access = [r.getMessage() for r in caplog.records if r.name == "clinic.access"]
    assert len(access) == 2
    assert '"GET /display/?doctor=1&token=***" 403' in access[0]
    assert '"GET /api/doctors/" 404' in access[1]
    # A 4xx is the access line alone: Django's request logger does not repeat it.
    assert not [r for r in caplog.records if r.name == "django.request" and r.levelno < logging.ERROR]
