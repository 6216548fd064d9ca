"""One exception handler renders every error as the contract's body, 500 included."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from core import errors
from core.exceptions import Conflict, DomainError, Forbidden, NotFound, ValidationFailed

factory = APIRequestFactory()


class _Input(serializers.Serializer):
    name = serializers.CharField()
    items = serializers.ListField(child=serializers.IntegerField())
    address = serializers.DictField(child=serializers.CharField())


def view_raising(exc: Exception):
    class Raising(APIView):
        authentication_classes: list = []
        permission_classes = [AllowAny]

        def get(self, request):
            raise exc

    return Raising.as_view()


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (RuntimeError("boom"), 500, "server_error"),
        (Http404(), 404, "not_found"),
        (PermissionDenied(), 403, "permission_denied"),
        (NotFound(), 404, "not_found"),
        (Forbidden(), 403, "permission_denied"),
        (Conflict("Taken.", code="slot_unavailable"), 409, "slot_unavailable"),
        (DomainError("Too late.", code="invalid_transition"), 400, "invalid_transition"),
    ],
)
def test_exceptions_become_the_contract_body(exc, status, code):
    response = view_raising(exc)(factory.get("/"))
    assert response.status_code == status
    assert response.data["code"] == code
    assert isinstance(response.data["detail"], str) and response.data["detail"]
    assert "fields" not in response.data


def test_an_unexpected_error_is_logged_and_hides_its_message(caplog):
    response = view_raising(RuntimeError("secret internals"))(factory.get("/"))
    assert response.data == {"code": "server_error", "detail": "An unexpected error occurred."}
    assert "secret internals" in caplog.text


def test_domain_validation_errors_carry_fields():
    response = view_raising(ValidationFailed(fields={"start": ["Not a free slot."]}))(factory.get("/"))
    assert response.status_code == 400
    assert response.data == {"code": "invalid", "detail": "Invalid input.", "fields": {"start": ["Not a free slot."]}}


def test_nested_serializer_errors_flatten_to_lists_of_strings():
    serializer = _Input(data={"items": [1, "x"], "address": {"city": None}})
    assert not serializer.is_valid()
    response = view_raising(serializers.ValidationError(serializer.errors))(factory.get("/"))
    fields = response.data["fields"]
    # A list item's errors are named by its index, a nested field's by its path.
    assert set(fields) == {"name", "items.1", "address.city"}
    assert all(isinstance(m, str) for messages in fields.values() for m in messages)


def test_django_level_handlers_answer_json():
    request = factory.get("/")
    for handler, status, code in [
        (errors.handler400, 400, "bad_request"),
        (errors.handler403, 403, "permission_denied"),
        (errors.handler404, 404, "not_found"),
    ]:
        response = handler(request, Exception())
        assert response.status_code == status
        assert json.loads(response.content)["code"] == code
    assert json.loads(errors.handler500(request).content) == {
        "code": "server_error",
        "detail": "An unexpected error occurred.",
    }


@pytest.mark.django_db
def test_page_size_is_capped_at_100(client_for, ada):
    from audit.models import AuditLog

    AuditLog.objects.bulk_create(AuditLog(action="test.bulk") for _ in range(120))
    body = client_for(ada).get("/api/audit-logs/list/", {"page_size": 1000, "action": "test.bulk"}).json()
    assert body["count"] == 120
    assert len(body["results"]) == 100
