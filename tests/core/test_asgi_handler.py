"""core.asgi.ThreadedASGIHandler: each REST request is served in one trip to one thread of
the handler's pool (signal, middleware, view and close), its database connection goes back
to the pool at the end, and what the client sees is what Django's own handler would send."""

import threading
from pathlib import Path

import pytest
from channels.testing import HttpCommunicator
from django.core import signals
from django.db import connection

from config.asgi import application
from core.asgi import ThreadedASGIHandler

HOST = [(b"host", b"127.0.0.1")]


async def _request(method: str, path: str, *, body: bytes = b"", headers=()) -> dict:
    communicator = HttpCommunicator(application, method, path, body=body, headers=[*HOST, *headers])
    response = await communicator.get_response(timeout=10)
    await communicator.wait(10)
    return response


def test_the_web_process_serves_rest_through_the_threaded_handler():
    assert isinstance(application.application_mapping["http"], ThreadedASGIHandler)


@pytest.mark.django_db(transaction=True)
async def test_a_request_runs_start_to_finish_on_one_thread_of_the_pool():
    threads: dict[str, set[str]] = {"started": set(), "finished": set()}

    def started(**kwargs):
        threads["started"].add(threading.current_thread().name)

    def finished(**kwargs):
        threads["finished"].add(threading.current_thread().name)

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        response = await _request("GET", "/api/health/")
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert response["status"] in (200, 503)  # health may find a backend down; it answers
    assert len(threads["started"]) == 1 and threads["started"] == threads["finished"]
    assert next(iter(threads["started"])).startswith("http")


@pytest.mark.django_db(transaction=True)
async def test_the_answer_is_what_django_sends():
    """Status, headers (the request id, security headers) and body of an error answer."""
    response = await _request(
        "POST",
        "/api/auth/login/",
        body=b'{"email": "nobody@example.com"}',
        headers=[(b"content-type", b"application/json"), (b"x-request-id", b"abc-123")],
    )
    headers = {name.decode().lower(): value.decode() for name, value in response["headers"]}
    assert response["status"] == 400
    assert headers["x-request-id"] == "abc-123"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["content-type"] == "application/json"
    assert b'"code"' in response["body"] and b'"fields"' in response["body"]


@pytest.mark.django_db(transaction=True)
async def test_a_bad_host_is_a_400_not_an_exception():
    communicator = HttpCommunicator(application, "GET", "/api/health/", headers=[(b"host", b"evil.example")])
    response = await communicator.get_response(timeout=10)
    await communicator.wait(10)
    assert response["status"] == 400


@pytest.mark.django_db(transaction=True)
async def test_connections_go_back_to_the_pool(settings):
    """More requests than the pool has connections, one after another: none waits for one."""
    pool = connection.pool
    if pool is None:
        pytest.skip("the tests run on PostgreSQL with the pool (DB_POOL_MAX_SIZE > 0)")
    for _ in range(pool.max_size + 5):
        assert (await _request("GET", "/api/doctors/list/"))["status"] in (200, 401)
    stats = pool.get_stats()
    assert stats["pool_size"] - stats["pool_available"] <= 1, stats


@pytest.mark.django_db(transaction=True)
async def test_a_streamed_static_file_arrives_whole(settings):
    # WhiteNoise answers a static file with a streaming FileResponse: sent from the loop.
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    handler = ThreadedASGIHandler(threads=2)
    communicator = HttpCommunicator(handler, "GET", "/static/portals/portal.css", headers=HOST)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(10)
    body = b""
    while True:  # the last part of a streamed answer has no "body" (the ASGI default: b"")
        part = await communicator.receive_output(10)
        body += part.get("body", b"")
        if not part.get("more_body"):
            break
    await communicator.wait(10)
    expected = (Path(__file__).resolve().parents[2] / "portals" / "static" / "portals" / "portal.css").read_bytes()
    assert start["status"] == 200 and body == expected
