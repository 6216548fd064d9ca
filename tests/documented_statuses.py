"""Every status the suite sees must be documented: the OpenAPI/behaviour comparison.

A pytest plugin (loaded from tests/conftest.py). Every request a test makes through
Django's test client (and so DRF's APIClient) is recorded as (method, path template,
status); at the end of the session each one is looked up in the committed
frontend_contracts/openapi.yaml. A status the server answered but the document does not
list for that operation fails the run, naming the operation and the test that saw it.

Only the REST API under /api/ is checked (the FHIR facade at /fhir/R4/ describes itself
in its CapabilityStatement): paths the schema describes, or DRF views it should describe.
Methods an endpoint does not have (answered 405) and OPTIONS/HEAD have no operation to
document.
"""

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml

OPENAPI = Path(__file__).resolve().parent.parent / "frontend_contracts" / "openapi.yaml"
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_UNDOCUMENTED_VIEWS = {"SpectacularAPIView", "SpectacularSwaggerView", "DocsView"}
_SKIPPED_METHODS = {"options", "head"}

# (method, path template) -> status -> the first test that saw it
_seen: dict[tuple[str, str], dict[int, str]] = defaultdict(dict)
_current_test = ["(no test)"]


def path_template(route: str) -> str:
    """Django's route (`api/appointments/<int:appointment_id>/`, or a regex such as
    `api/health/live/?$`) as OpenAPI writes it (`/api/health/live/`)."""
    route = _REGEX_GROUP.sub(r"{\1}", route).replace("^", "").replace("/?$", "/").replace("$", "")
    return "/" + _CONVERTER.sub(r"{\1}", route)


def _is_api_view(response: Any) -> bool:
    match = getattr(response, "resolver_match", None)
    view = getattr(getattr(match, "func", None), "cls", None)
    if view is None or view.__name__ in _UNDOCUMENTED_VIEWS:
        return False
    from rest_framework.views import APIView

    return issubclass(view, APIView)


def _record(request: dict[str, Any], response: Any) -> None:
    match = getattr(response, "resolver_match", None)
    if match is None or not match.route or not _is_api_view(response):
        return
    method = request.get("REQUEST_METHOD", "GET").lower()
    template = path_template(match.route)
    if method in _SKIPPED_METHODS or not template.startswith("/api/"):
        return
    _seen[(method, template)].setdefault(response.status_code, _current_test[0])


@pytest.fixture(autouse=True, scope="session")
def _record_test_client_statuses() -> object:
    from django.test.client import Client

    original = Client.request

    def request(self: Client, **environ: Any) -> Any:
        response = original(self, **environ)
        _record(environ, response)
        return response

    setattr(Client, "request", request)  # noqa: B010 (mypy refuses assigning to a method)
    yield
    setattr(Client, "request", original)  # noqa: B010


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _current_test[0] = item.nodeid


def undocumented(seen: dict[tuple[str, str], dict[int, str]], schema: dict[str, Any]) -> list[str]:
    """Each (operation, status) the server answered that the schema does not list."""
    problems = []
    paths = schema.get("paths", {})
    for (method, template), statuses in sorted(seen.items()):
        operations = paths.get(template)
        if operations is None:
            first_test = next(iter(statuses.values()))
            problems.append(f"{method.upper()} {template}: the path is not in openapi.yaml ({first_test})")
            continue
        operation = operations.get(method)
        if operation is None:
            unexpected = {status: test for status, test in statuses.items() if status != 405}
            problems.extend(
                f"{method.upper()} {template}: answered {status} but has no such operation ({test})"
                for status, test in sorted(unexpected.items())
            )
            continue
        documented = set(operation.get("responses", {}))
        if "default" in documented:
            continue
        problems.extend(
            f"{method.upper()} {template} -> {status} is not documented ({test})"
            for status, test in sorted(statuses.items())
            if str(status) not in documented
        )
    return problems


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _seen or not OPENAPI.exists():
        return
    problems = undocumented(_seen, yaml.safe_load(OPENAPI.read_text()))
    if not problems:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "statuses the server answered that openapi.yaml does not document", red=True)
        for line in problems:
            reporter.write_line(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
