"""Browser-facing defaults: CORS for portals on other origins, security headers on every
response (a CSP on every HTML page), and the websocket's origin checked against the same
allowlist."""

import re

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application
from realtime import services as realtime_services

PORTAL = "https://portal.clinic.example"
EVIL = "https://evil.example"


@pytest.fixture
def portal(settings):
    settings.CORS_ALLOWED_ORIGINS = [PORTAL]


@pytest.mark.django_db
class TestCors:
    def test_a_listed_portal_passes_the_preflight_of_a_write(self, anon, portal):
        response = anon.options(
            "/api/appointments/book/",
            HTTP_ORIGIN=PORTAL,
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
        )
        assert response.status_code == 200
        assert response["Access-Control-Allow-Origin"] == PORTAL
        assert "authorization" in response["Access-Control-Allow-Headers"]
        assert "POST" in response["Access-Control-Allow-Methods"]

    def test_a_listed_portal_reads_answers_and_their_retry_header(self, client_for, alice, portal):
        response = client_for(alice).get("/api/users/me/", HTTP_ORIGIN=PORTAL)
        assert response.status_code == 200
        assert response["Access-Control-Allow-Origin"] == PORTAL
        assert "retry-after" in response["Access-Control-Expose-Headers"].lower()
        assert "Access-Control-Allow-Credentials" not in response  # bearer tokens, never cookies

    def test_an_unlisted_origin_gets_no_cors_headers(self, anon, client_for, alice, portal):
        preflight = anon.options("/api/appointments/book/", HTTP_ORIGIN=EVIL, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
        assert "Access-Control-Allow-Origin" not in preflight
        assert "Access-Control-Allow-Origin" not in client_for(alice).get("/api/users/me/", HTTP_ORIGIN=EVIL)

    def test_nothing_is_allowed_by_default(self, anon):
        response = anon.get("/api/health/", HTTP_ORIGIN=PORTAL)
        assert "Access-Control-Allow-Origin" not in response


def _common(response) -> str:
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] in {"same-origin", "no-referrer"}
    policy = response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy
    return policy


@pytest.mark.django_db
def test_json_answers_carry_the_security_headers(anon, client_for, alice):
    for response in (
        anon.get("/api/health/"),
        anon.get("/api/users/me/"),  # 401
        anon.get("/api/nowhere/"),  # 404
        client_for(alice).get("/api/users/me/"),
    ):
        assert _common(response).startswith("default-src 'none'")


@pytest.mark.django_db
def test_every_html_page_has_a_csp_without_inline_scripts(ada, carol):
    browser = Client()
    browser.force_login(ada)
    token = realtime_services.display_token_create(actor=ada, name="Lobby").token
    screen = Client()
    screen.post(f"/display/?doctor={carol.doctor.pk}", {"token": token})
    pages = {
        "admin login": Client().get("/admin/login/"),
        "admin": browser.get("/admin/"),
        "docs": Client().get("/api/docs/"),
        "display form": Client().get(f"/display/?doctor={carol.doctor.pk}"),
        "display": screen.get(f"/display/?doctor={carol.doctor.pk}"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert response["Content-Type"].startswith("text/html"), name
        policy = _common(response)
        script_src = re.search(r"script-src ([^;]*)", policy).group(1)
        assert "'unsafe-inline'" not in script_src, name
        html = response.content.decode()
        nonce = re.search(r"'nonce-([^']+)'", script_src)
        for tag in re.findall(r"<script\b[^>]*>", html):
            if 'type="application/json"' in tag:
                continue  # data, never run
            # Every script is a file of our own, or carries this response's nonce.
            assert "src=" in tag or (nonce and f'nonce="{nonce.group(1)}"' in tag), f"{name}: {tag}"


@pytest.mark.django_db
def test_hsts_behind_tls(anon):
    plain = anon.get("/api/health/")
    assert "Strict-Transport-Security" not in plain
    secure = anon.get("/api/health/", HTTP_X_FORWARDED_PROTO="https")
    assert "max-age=" in secure["Strict-Transport-Security"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("origin", "allowed"), [(PORTAL, True), (EVIL, False), ("http://127.0.0.1", True)])
async def test_the_websocket_checks_the_same_allowlist(settings, origin, allowed):
    settings.CORS_ALLOWED_ORIGINS = [PORTAL]
    communicator = WebsocketCommunicator(application, "/ws/", headers=[(b"origin", origin.encode())])
    connected, _ = await communicator.connect()
    assert connected is allowed
    if connected:
        await communicator.disconnect()
