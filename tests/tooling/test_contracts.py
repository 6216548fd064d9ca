"""frontend_contracts/ is generated from the code; a stale committed copy fails here."""

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from tooling.contracts import default_directory, render_all

pytestmark = pytest.mark.django_db


def test_committed_contracts_match_the_code(tmp_path: Path):
    call_command("export_contracts", output_dir=tmp_path, verbosity=0)
    stale = [
        name
        for name in render_all()
        if not (default_directory() / name).exists()
        or (default_directory() / name).read_bytes() != (tmp_path / name).read_bytes()
    ]
    assert not stale, f"frontend_contracts/{', '.join(stale)} is stale: run `make schema` and commit the result."


def test_export_is_deterministic(tmp_path: Path):
    call_command("export_contracts", output_dir=tmp_path / "a", verbosity=0)
    call_command("export_contracts", output_dir=tmp_path / "b", verbosity=0)
    for name in render_all():
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_check_mode_fails_on_a_stale_file(tmp_path: Path):
    from django.core.management.base import CommandError

    call_command("export_contracts", output_dir=tmp_path, verbosity=0)
    call_command("export_contracts", output_dir=tmp_path, check=True)
    (tmp_path / "openapi.yaml").write_text("openapi: 3.0.3\n")
    with pytest.raises(CommandError, match="make schema"):
        call_command("export_contracts", output_dir=tmp_path, check=True)


def test_openapi_covers_the_accounts_and_audit_contract():
    schema = yaml.safe_load((default_directory() / "openapi.yaml").read_text())
    expected = {
        ("/api/auth/register/", "post"),
        ("/api/auth/register/doctor/", "post"),
        ("/api/auth/login/", "post"),
        ("/api/auth/logout/", "post"),
        ("/api/users/me/", "get"),
        ("/api/users/update/", "put"),
        ("/api/users/delete/", "delete"),
        ("/api/users/create/", "post"),
        ("/api/doctors/list/", "get"),
        ("/api/doctors/{doctor_id}/", "get"),
        ("/api/doctors/{doctor_id}/approve/", "put"),
        ("/api/audit-logs/list/", "get"),
        ("/api/audit-logs/{log_id}/", "get"),
        ("/api/health/", "get"),
    }
    present = {(path, method) for path, operations in schema["paths"].items() for method in operations}
    assert expected <= present
    user = schema["components"]["schemas"]["User"]["properties"]
    assert {"id", "email", "first_name", "last_name", "role", "phone", "is_active", "patient", "doctor"} <= set(user)
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"code", "detail"}
    login = schema["paths"]["/api/auth/login/"]["post"]["responses"]
    assert {"200", "400", "401", "429"} <= set(login)
    audit = schema["paths"]["/api/audit-logs/list/"]["get"]["responses"]["200"]
    assert audit["content"]["application/json"]["schema"]["$ref"].endswith("PaginatedAuditLogList")


def test_the_schema_and_the_docs_are_served(anon):
    response = anon.get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/auth/login/" in response.content
    assert anon.get("/api/docs/").status_code == 200
