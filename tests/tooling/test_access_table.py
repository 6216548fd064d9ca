"""The access-control table (tooling/access.py) against the URL configuration and the code.

- every /api/ endpoint is in the table, with exactly the methods its view answers;
- docs/access-control.md is the table as rendered now;
- anonymous calls to anything not open to anyone are 401;
- a signed-in role the table does not admit is refused with 403 at the door.
"""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tooling.access import ACCESS, ROLES, api_endpoints, render_markdown

ENDPOINTS = api_endpoints()


def _concrete(path: str) -> str:
    # Ids that exist for nobody: a refused role must be stopped before any lookup.
    return re.sub(r"\{[^}]+\}", "999999", path)


def test_every_api_endpoint_is_in_the_table():
    missing = [f"{e.key} ({e.path})" for e in ENDPOINTS if e.key not in ACCESS]
    assert not missing, f"add these to tooling/access.py ACCESS: {missing}"


def test_the_table_has_exactly_the_methods_each_view_answers():
    wrong = {
        e.key: {"view": sorted(e.methods), "table": sorted(ACCESS[e.key])}
        for e in ENDPOINTS
        if e.key in ACCESS and set(e.methods) != set(ACCESS[e.key])
    }
    assert not wrong


def test_the_table_names_no_endpoint_that_does_not_exist():
    assert not set(ACCESS) - {e.key for e in ENDPOINTS}


def test_the_document_is_up_to_date():
    document = Path(settings.BASE_DIR) / "docs" / "access-control.md"
    assert document.read_text() == render_markdown(), "run: python manage.py access_table"


CASES = [(e.path, method, ACCESS[e.key][method]) for e in ENDPOINTS if e.key in ACCESS for method in e.methods]


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "method", "access"), CASES, ids=[f"{m} {p}" for p, m, _ in CASES])
def test_the_door_refuses_who_the_table_refuses(path, method, access, request, client_for, anon):
    url = _concrete(path)
    if not access.anyone:
        assert getattr(anon, method.lower())(url, {}, format="json").status_code == 401
    if access.gate != "view":
        return
    personas = {"patient": "alice", "doctor": "carol", "staff": "rita", "admin": "ada"}
    for role in ROLES:
        if role in access.roles:
            continue
        user = request.getfixturevalue(personas[role])
        response = getattr(client_for(user), method.lower())(url, {}, format="json")
        assert response.status_code == 403, f"{role} got {response.status_code}"
