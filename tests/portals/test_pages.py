"""The landing page, the client shells, the AsyncAPI page and the 404 pages."""

import pytest
import yaml

from accounts import demo
from tooling.contracts import default_directory

pytestmark = pytest.mark.django_db


def test_the_landing_page_links_both_clients_and_the_docs(anon):
    response = anon.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    for link in ('href="/patient/"', 'href="/doctor/"', 'href="/api/docs/"', 'href="/api/asyncapi/"'):
        assert link in html


def test_demo_accounts_are_listed_only_in_debug_or_demo_mode(anon, settings):
    settings.DEBUG, settings.DEMO_MODE = False, False
    assert demo.DEMO_PASSWORD not in anon.get("/").content.decode()
    assert demo.DEMO_PASSWORD not in anon.get("/patient/").content.decode()
    settings.DEMO_MODE = True
    html = anon.get("/").content.decode()
    assert demo.DEMO_PASSWORD in html and demo.DOCTORS[0]["email"] in html and demo.patient_email(0) in html
    settings.DEMO_MODE, settings.DEBUG = False, True
    assert demo.DEMO_PASSWORD in anon.get("/").content.decode()


@pytest.mark.parametrize(("path", "module"), [("/patient/", "portals/patient.js"), ("/doctor/", "portals/doctor.js")])
def test_the_clients_are_shells_loading_their_module(anon, path, module):
    response = anon.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'type="module"' in html and module in html and 'id="signin-form"' in html


def test_the_asyncapi_document_is_served_as_committed(anon):
    response = anon.get("/api/asyncapi.yaml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    assert response.content == (default_directory() / "asyncapi.yaml").read_bytes()


def test_the_asyncapi_page_shows_every_message(anon):
    response = anon.get("/api/asyncapi/")
    assert response.status_code == 200
    html = response.content.decode()
    document = yaml.safe_load((default_directory() / "asyncapi.yaml").read_text())
    for name in document["components"]["messages"]:
        assert f'id="{name}"' in html
    assert 'href="/api/asyncapi.yaml"' in html


def test_swagger_links_the_asyncapi_page(anon):
    schema = yaml.safe_load(anon.get("/api/schema/").content)
    assert "(/api/asyncapi/)" in schema["info"]["description"]


def test_an_unknown_page_is_a_plain_404_page_also_in_debug(anon, settings):
    settings.DEBUG = True
    response = anon.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'href="/"' in html and "URLconf" not in html


def test_the_doctor_collection_404_points_at_the_list(anon):
    response = anon.get("/api/doctors/")
    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "detail": "Not found. The list is at /api/doctors/list/ (see /api/docs/).",
    }
    assert anon.get("/api/nothing/").json() == {"code": "not_found", "detail": "Not found."}
