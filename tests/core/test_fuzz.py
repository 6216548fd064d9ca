"""No request body or query a client can send makes the accounts or audit API answer 500.

Malformed JSON, wrong types (lists, numbers, null, nested objects, booleans), huge strings,
unknown fields and odd content types, at every endpoint; each answer must be a
non-5xx status in the contract's error shape (or a success).
"""

import json

import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

HUGE = "x" * 100_000

# (method, path template, persona, the fields of its input)
ENDPOINTS = [
    ("post", "/api/auth/register/", None, ["email", "password", "first_name", "last_name", "phone", "date_of_birth",
                                           "gender", "address", "emergency_contact_name", "emergency_contact_phone"]),
    ("post", "/api/auth/register/doctor/", None, ["email", "password", "first_name", "last_name", "specialization",
                                                  "qualifications", "experience_years", "phone"]),
    ("post", "/api/auth/login/", None, ["email", "password", "id_token"]),
    ("post", "/api/auth/logout/", "alice", []),
    ("get", "/api/users/me/", "alice", []),
    ("put", "/api/users/update/", "carol", ["first_name", "last_name", "phone", "date_of_birth", "gender", "address",
                                            "specialization", "qualifications", "experience_years"]),
    ("patch", "/api/users/update/", "alice", ["date_of_birth", "gender", "emergency_contact_phone"]),
    ("delete", "/api/users/delete/", "ada", ["user_id"]),
    ("post", "/api/users/create/", "ada", ["email", "password", "first_name", "last_name", "role"]),
    ("get", "/api/doctors/list/", "alice", ["specialization", "search", "page", "page_size"]),
    ("get", "/api/doctors/{doctor}/", "alice", []),
    ("put", "/api/doctors/{doctor}/approve/", "ada", []),
    ("get", "/api/audit-logs/list/", "ada", ["actor", "action", "since", "page", "page_size"]),
    ("get", "/api/audit-logs/{log}/", "ada", []),
]  # fmt: skip

# One of each kind a field can be wrong with; every field of every endpoint gets each.
WRONG_VALUES = [
    None,
    True,
    10**100,
    ["a", {"b": None}],
    {"nested": {"deeper": [1, {"x": None}]}},
    HUGE,
    "\u0000\ud7ff😀",
]
# Whole bodies that are not an object.
WRONG_BODIES = [None, 12, "text", [], [{"email": "a@b.test"}]]

MALFORMED_BODIES = [
    b"{",
    b'{"email": "a@b.test",}',
    b"\xff\xfe\x00{",
    b'{"user_id": NaN, "experience_years": 1e999}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    b"",
]


@pytest.fixture(autouse=True)
def _no_throttling(settings):
    settings.THROTTLE_ENABLED = False


@pytest.fixture
def clients(client_for, anon, alice, carol, ada):
    return {None: anon, "alice": client_for(alice), "carol": client_for(carol), "ada": client_for(ada)}


@pytest.fixture
def urls(carol, ada):
    from audit.models import AuditLog

    log = AuditLog.objects.latest("id")
    return {"doctor": carol.doctor.id, "log": log.id}


def assert_contract_answer(response, what):
    assert response.status_code < 500, (what, response.status_code, response.content[:500])
    if response.status_code == 204:
        return
    body = response.json()
    if response.status_code >= 400:
        assert isinstance(body, dict) and isinstance(body.get("code"), str) and isinstance(body.get("detail"), str), (
            what,
            body,
        )
        assert set(body) <= {"code", "detail", "fields"}, (what, body)
        if "fields" in body:
            assert body["code"] == "invalid"
            assert all(
                isinstance(k, str) and isinstance(v, list) and all(isinstance(m, str) for m in v)
                for k, v in body["fields"].items()
            ), (what, body)


def send(client, method, url, body=None, raw=None, content_type="application/json"):
    if method == "get":
        return client.get(url, body or {})
    if raw is not None:
        return getattr(client, method)(url, raw, content_type=content_type)
    return getattr(client, method)(url, json.dumps(body), content_type=content_type)


def valid_body(fields):
    base = {
        "email": "fuzz@example.test",
        "password": PASSWORD,
        "first_name": "F",
        "last_name": "Z",
        "specialization": "Fuzzing",
        "qualifications": "MD",
        "experience_years": 3,
        "role": "staff",
        "user_id": 999_999,
    }
    return {k: v for k, v in base.items() if k in fields}


@pytest.mark.parametrize(("method", "path", "persona", "fields"), ENDPOINTS, ids=lambda v: str(v)[:40])
def test_wrong_types_huge_strings_and_unknown_fields(clients, urls, method, path, persona, fields):
    client = clients[persona]
    url = path.format(**urls)
    for field in fields:
        for value in WRONG_VALUES:
            if method == "get":
                params = {field: value if isinstance(value, str) else json.dumps(value)}
                assert_contract_answer(send(client, method, url, params), (field, str(value)[:30]))
                continue
            body = {**valid_body(fields), field: value}
            assert_contract_answer(send(client, method, url, body), (field, str(value)[:30]))
    unknown = {**valid_body(fields), "unknown": HUGE, "__proto__": {"admin": True}, "role ": "admin", "": None}
    assert_contract_answer(send(client, method, url, unknown if method != "get" else {"unknown": HUGE}), "unknown")
    for value in [*WRONG_BODIES, dict.fromkeys(fields, HUGE)]:
        if method != "get":
            assert_contract_answer(send(client, method, url, value), ("whole body", str(value)[:30]))


@pytest.mark.parametrize(
    ("method", "path", "persona", "fields"), [e for e in ENDPOINTS if e[0] != "get"], ids=lambda v: str(v)[:40]
)
def test_malformed_bodies_and_content_types(clients, urls, method, path, persona, fields):
    client = clients[persona]
    url = path.format(**urls)
    for raw in MALFORMED_BODIES:
        assert_contract_answer(send(client, method, url, raw=raw), raw[:20])
    for content_type in ("text/plain", "application/json; charset=latin-1", "multipart/form-data"):
        assert_contract_answer(send(client, method, url, raw=b"{}", content_type=content_type), content_type)
    form = "&".join(f"{f}=x" for f in fields) or "a=b"
    response = send(client, method, url, raw=form.encode(), content_type="application/x-www-form-urlencoded")
    assert_contract_answer(response, "form")


def test_an_oversized_json_body_is_refused_cleanly(clients):
    body = json.dumps({"email": "a@b.test", "password": "x", "padding": "y" * (3 * 1024 * 1024)})
    response = clients[None].post("/api/auth/login/", body, content_type="application/json")
    assert_contract_answer(response, "3 MB")
    assert response.status_code in (400, 401, 413)


@pytest.mark.parametrize(
    "path",
    ["/api/doctors/abc/", "/api/doctors/-1/", "/api/doctors/1.5/", "/api/audit-logs/%00/", "/api/users/me/extra/"],
)
def test_odd_paths_are_json_404s(clients, path):
    response = clients["ada"].get(path)
    assert response.status_code == 404
    assert_contract_answer(response, path)


def test_unsupported_methods_are_405_in_the_contract_shape(clients):
    for method, path in [("get", "/api/auth/login/"), ("post", "/api/users/me/"), ("delete", "/api/doctors/list/")]:
        response = getattr(clients["ada"], method)(path)
        assert response.status_code == 405
        assert_contract_answer(response, path)
