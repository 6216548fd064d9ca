"""The one place where every error becomes the contract's error body.

`{"code": "<machine_code>", "detail": "<message>", "fields": {...}}`, `fields` only for
validation errors. DRF exceptions, domain errors, Django's 404/403 and anything unexpected
(500) all come through here, so no endpoint invents its own shape.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from core.exceptions import DomainError
from observability import context as log_context
from observability import metrics

logger = logging.getLogger(__name__)

_DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "parse_error",
    exceptions.Throttled: "throttled",
}


def error_body(code: str, detail: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "detail": detail}
    if fields is not None:
        body["fields"] = fields
    return body


def _flatten_fields(detail: Any) -> dict[str, list[str]]:
    """DRF validation details (nested dicts and lists) → `{field: [message, ...]}`."""
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in _messages(detail)]}
    fields: dict[str, list[str]] = {}
    for name, value in detail.items():
        if isinstance(value, dict):
            for sub, messages in _flatten_fields(value).items():
                key = name if sub == "non_field_errors" else f"{name}.{sub}"
                fields.setdefault(key, []).extend(messages)
        else:
            fields[name] = _messages(value)
    return fields


def _messages(value: Any) -> list[str]:
    if isinstance(value, list):
        out: list[str] = []
        for index, item in enumerate(value):
            if isinstance(item, dict):
                out.extend(f"[{index}].{k}: {m}" for k, ms in _flatten_fields(item).items() for m in ms)
            else:
                out.extend(_messages(item))
        return out
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, ms in _flatten_fields(value).items() for m in ms]
    return [str(value)]


# Why a race was lost, from the database error a domain error was raised from: the metrics
# tell a taken slot (the code alone) from a deadlock or a lock timeout.
_LOST_RACE_REASONS = {
    "40P01": "deadlock",
    "40001": "serialization_failure",
    "55P03": "lock_timeout",
    "23P01": "exclusion_violation",
    "23505": "unique_violation",
}


def _reason(exc: Exception, code: str) -> str:
    # The domain's own reason first: a patient busy elsewhere is refused by an exclusion
    # constraint (scheduling.services.races) and still counted as `patient_busy`.
    if getattr(exc, "reason", None):
        return exc.reason  # type: ignore[attr-defined]
    sqlstate = getattr(getattr(exc.__cause__, "__cause__", None), "sqlstate", None) or getattr(
        exc.__cause__, "sqlstate", None
    )
    if sqlstate is not None and sqlstate in _LOST_RACE_REASONS:
        return _LOST_RACE_REASONS[sqlstate]
    return code


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's EXCEPTION_HANDLER. Every error answer is also counted by status, code and reason."""
    response = _error_response(exc, context)
    if response is not None and isinstance(response.data, dict):
        code = str(response.data.get("code", "error"))
        route = log_context.current().route or "unmatched"
        metrics.api_errors.labels(route, str(response.status_code), code, _reason(exc, code)).inc()
    return response


def _error_response(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        return Response({**exc.extra, **error_body(exc.code, exc.detail, exc.fields)}, status=exc.status_code)
    if isinstance(exc, OperationalError | InterfaceError):
        # The database refused or dropped the connection (overload, failover): a
        # temporary condition the client may retry, not a bug. Services turn the
        # operational errors they expect (lock timeouts, deadlocks) into domain errors.
        logger.error("Database unavailable in %s: %s", context.get("view").__class__.__name__, exc)
        return Response(
            error_body("service_unavailable", "The service is briefly unavailable; please retry."),
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, exceptions.ValidationError):
        return Response(
            error_body("invalid", "Invalid input.", _flatten_fields(exc.detail)),
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in _DRF_CODES.items() if isinstance(exc, cls)), None)
        if code is None:
            code = exc.default_code if isinstance(exc.default_code, str) else "error"
        headers: dict[str, str] = {}
        auth_header = getattr(exc, "auth_header", None)
        if auth_header:
            headers["WWW-Authenticate"] = auth_header
        wait = getattr(exc, "wait", None)
        if wait is not None:
            headers["Retry-After"] = str(max(1, int(wait)))
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return Response(error_body(code, str(detail)), status=exc.status_code, headers=headers)

    logger.exception("Unhandled error in %s", context.get("view").__class__.__name__)
    return Response(
        error_body("server_error", "An unexpected error occurred."),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def handler404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """Django-level 404 (a path no view matches) in the contract's shape."""
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def handler500(request: HttpRequest) -> JsonResponse:
    return JsonResponse(error_body("server_error", "An unexpected error occurred."), status=500)


def handler403(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("permission_denied", "Permission denied."), status=403)


def handler400(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("bad_request", "Bad request."), status=400)


# CSRF-exempt: it changes nothing, and an unsafe method on an unknown path (a DELETE to
# /api/appointments/x/cancel/) would otherwise get the CSRF failure page, in HTML.
@csrf_exempt
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    """The catch-all under /api/, so unknown paths get the contract's body even with DEBUG on.

    The seed's lists live at `…/list/` (`/api/doctors/list/`); a client that asks for the
    collection itself is told where it is.
    """
    detail = "Not found."
    path = request.path if request.path.endswith("/") else request.path + "/"
    try:
        match = resolve(path + "list/")
    except Resolver404:
        match = None
    if match is not None and match.func is not api_not_found:
        detail = f"Not found. The list is at {path}list/ (see /api/docs/)."
    return JsonResponse(error_body("not_found", detail), status=404)
