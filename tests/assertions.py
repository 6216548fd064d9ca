"""Assertions shared by the API tests."""

from typing import Any


def assert_error(response: Any, status: int, code: str, fields: set[str] | None = None) -> dict:
    """The response is `status` with the contract's error body: `code`, a `detail`, and
    `fields` naming at least `fields` (or no `fields` at all when None)."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    if fields is None:
        assert "fields" not in body, body
    else:
        assert set(fields) <= set(body["fields"]), body["fields"]
    return body
