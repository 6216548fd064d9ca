"""Property-based fuzzing of the whole REST API from frontend_contracts/openapi.yaml.

Schemathesis generates requests for every operation of the published contract, both
fitting the schema and deliberately not (wrong types, missing fields, out-of-range
values), and sends them as each persona through the real Django stack. Every answer must
be: no 5xx; a status the operation documents; a body valid against that documented
response; every 4xx in the contract's §1 error shape. The run here is bounded
(FUZZ_EXAMPLES per operation and persona); docs/reliability.md gives the longer run
(`scripts/fuzz-api.sh`) and its figures.
"""

import json
import logging
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import token_issue

ROOT = Path(__file__).resolve().parents[2]
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2"))
# What was sent and what came back, written to FUZZ_REPORT (a JSON file) when it is set.
TALLY: Counter = Counter()

SCHEMA = schemathesis.openapi.from_path(ROOT / "frontend_contracts" / "openapi.yaml")
SCHEMA.app = get_wsgi_application()
# The coverage phase (every boundary value of every parameter) is the long run's job
# (scripts/fuzz-api.sh); here, examples and fuzzing keep the suite's run within bounds.
SCHEMA.config.phases.coverage.enabled = os.environ.get("FUZZ_COVERAGE") == "1"
# The suite fuzzes as a patient and as the admin; the long run adds anonymous, doctor, staff.
PERSONAS = os.environ.get("FUZZ_PERSONAS", "patient,admin").split(",")


@schemathesis.check
def error_shape(ctx: object, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every 4xx is the contract's §1 error body: a machine code and a message."""
    TALLY["requests"] += 1
    TALLY[f"{response.status_code // 100}xx"] += 1
    TALLY[str(response.status_code)] += 1
    if 400 <= response.status_code < 500 and response.request.method != "HEAD":  # HEAD has no body
        try:
            body = response.json()
        except ValueError:
            sent = f"{response.request.method} {response.request.url}"
            raise AssertionError(f"{sent} {response.status_code}: not JSON {response.text[:200]!r}") from None
        assert isinstance(body, dict), f"{response.status_code} body is not an object"
        assert isinstance(body.get("code"), str) and body["code"], f"{response.status_code} without a code: {body}"
        assert isinstance(body.get("detail"), str), f"{response.status_code} without a detail: {body}"
        assert set(body) <= {"code", "detail", "fields", "conflicts", "opens_at"}, body


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
    error_shape,
]


@pytest.fixture
def personas(db, alice, carol, rita, ada) -> dict[str, dict[str, str]]:
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for name, user in {"patient": alice, "doctor": carol, "staff": rita, "admin": ada}.items():
        headers[name] = {"Authorization": f"Bearer {token_issue(user=user).token}"}
    return headers


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    # The WSGI handler closes the database connection after each request, which would close
    # the test's transaction under it; Django's own test client disconnects it the same way.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(scope="module", autouse=True)
def _report() -> Iterator[None]:
    yield
    if os.environ.get("FUZZ_REPORT"):
        Path(os.environ["FUZZ_REPORT"]).write_text(json.dumps(dict(TALLY), sort_keys=True))


@pytest.fixture(autouse=True)
def _quiet_request_log() -> Iterator[None]:
    # Thousands of refused requests are the point here; their log lines are not.
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
@SCHEMA.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_survives_fuzzing(case, persona, personas, settings):
    settings.THROTTLE_ENABLED = False
    case.call_and_validate(headers=personas[persona], checks=CHECKS)
