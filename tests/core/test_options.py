"""OPTIONS on every API endpoint: a browser on another origin sends it before each write."""

import re

import pytest

from tooling.access import api_endpoints

PATHS = sorted({re.sub(r"\{[^}]+\}", "1", e.path) for e in api_endpoints()})


@pytest.mark.django_db
@pytest.mark.parametrize("path", PATHS)
def test_options_never_fails(path, client_for, ada, alice, anon):
    for client in (client_for(ada), client_for(alice), anon):
        response = client.options(path)
        assert response.status_code < 500, f"{path}: {response.status_code} {response.content[:200]!r}"
        if response.status_code == 200:
            assert "OPTIONS" in response["Allow"]
        else:
            assert set(response.json()) >= {"code", "detail"}


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_an_unsafe_method_on_an_unknown_api_path_is_a_json_404(method):
    from django.test import Client

    # Found by the fuzzer: without a CSRF token, Django's CSRF page (HTML 403) answered first.
    response = getattr(Client(enforce_csrf_checks=True), method)("/api/appointments/null,null/cancel/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
