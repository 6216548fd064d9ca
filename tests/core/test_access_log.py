"""The access log: one line per request, never a credential from a query string, and a 4xx
is that one line (Django's request logger does not repeat it)."""

import logging

import pytest
from channels.testing import HttpCommunicator

from config.asgi import application

HOST = [(b"host", b"127.0.0.1")]


async def _get(path: str) -> int:
    communicator = HttpCommunicator(application, "GET", path, headers=HOST)
    response = await communicator.get_response(timeout=10)
    await communicator.wait(10)
    return response["status"]


@pytest.mark.django_db(transaction=True)
async def test_one_line_per_request_without_the_display_token(caplog):
    caplog.set_level(logging.DEBUG)
    # A token in the URL is refused outright (400): screens post it in the page's form.
    assert await _get("/display/?doctor=1&token=dsp_leak_me") == 400
    assert await _get("/api/doctors/") == 404

    assert not [r for r in caplog.records if "dsp_leak_me" in r.getMessage()]
    access = [r.getMessage() for r in caplog.records if r.name == "clinic.request"]
    assert len(access) == 2, access
    assert access[0].startswith("GET /display/ 400") and access[1].startswith("GET /api/doctors/ 404")
    assert not [r for r in caplog.records if r.name == "django.request" and r.levelno < logging.ERROR]


def test_make_run_and_the_images_start_daphne_without_its_own_access_log():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    assert "daphne -v 0" in (root / "Makefile").read_text()
    for name in ("Dockerfile", "docker-compose.yml"):
        assert '"daphne", "-v", "0"' in (root / name).read_text(), name
