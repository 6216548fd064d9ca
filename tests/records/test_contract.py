"""The generated OpenAPI document carries every records path of contract §5."""

import yaml

from tooling.contracts import default_directory


def test_openapi_covers_the_records_contract():
    schema = yaml.safe_load((default_directory() / "openapi.yaml").read_text())
    expected = {
        ("/api/reports/upload/", "post"),
        ("/api/reports/{report_id}/", "get"),
        ("/api/reports/{report_id}/download/", "get"),
        ("/api/reports/patient/{patient_id}/", "get"),
        ("/api/reports/{report_id}/delete/", "delete"),
        ("/api/prescriptions/create/", "post"),
        ("/api/prescriptions/{prescription_id}/", "get"),
        ("/api/prescriptions/patient/{patient_id}/", "get"),
        ("/api/prescriptions/{prescription_id}/update/", "put"),
        ("/api/prescriptions/{prescription_id}/delete/", "delete"),
    }
    present = {(path, method) for path, operations in schema["paths"].items() for method in operations}
    assert expected <= present
    report = schema["components"]["schemas"]["Report"]["properties"]
    assert {"id", "patient", "doctor", "appointment", "title", "description", "content_type", "size"} <= set(report)
    assert {"created_at", "download_url"} <= set(report)
