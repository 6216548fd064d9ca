"""The REST API: Django REST Framework, its rate limits, and the OpenAPI schema
(drf-spectacular) behind /api/docs/."""

from typing import Any

from config.settings.base import DEBUG, env

THROTTLE_ENABLED = env.bool("THROTTLE_ENABLED", default=True)
THROTTLE_RATES = {
    "register": env.str("THROTTLE_REGISTER_RATE", default="10/hour"),
    "login": env.str("THROTTLE_LOGIN_RATE", default="20/minute"),
    "send": env.str("THROTTLE_SEND_RATE", default="30/hour"),
}

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    "DEFAULT_METADATA_CLASS": "core.metadata.EndpointMetadata",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = [
        *REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"],
        "rest_framework.renderers.BrowsableAPIRenderer",
    ]

SPECTACULAR_SETTINGS = {
    "TITLE": "Clinic API",
    "DESCRIPTION": (
        "REST API of the clinic platform. Errors are `{code, detail, fields?}`; every operation lists its "
        "statuses and error codes. Realtime events over the websocket at `/ws/`: "
        "[the AsyncAPI page](/api/asyncapi/) ([asyncapi.yaml](/api/asyncapi.yaml)). "
        "Reference clients: [patient portal](/patient/), [doctor dashboard](/doctor/)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/",
    # Swagger UI assets are served from the package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Several models have a `status`; named enums keep the generated names stable.
    "ENUM_NAME_OVERRIDES": {
        "PaymentStatusEnum": "billing.models.PaymentStatus",
        "RefundStatusEnum": "billing.models.RefundStatus",
        "InvoiceStatusEnum": "billing.models.InvoiceStatus",
        # The name the appointment status had before billing added its statuses.
        "StatusEnum": "scheduling.models.AppointmentStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.add_error_responses",
    ],
}
