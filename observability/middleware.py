"""Per request: the request id (X-Request-ID in and out), the log context, the request metrics
and one access log line."""

import logging
import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

from observability import context, metrics

logger = logging.getLogger("clinic.request")

REQUEST_ID_HEADER = "X-Request-ID"


class RequestObservabilityMiddleware:
    """First in MIDDLEWARE, so its clock and its status are those the client sees."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = context.request_id_from(request.headers.get(REQUEST_ID_HEADER))
        token = context.start(request_id=request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            elapsed = time.perf_counter() - started
            route = context.current().route or "unmatched"
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated and context.current().user_id is None:
                context.bind(user_id=user.pk)
            metrics.http_requests.labels(request.method, route, str(response.status_code)).inc()
            metrics.http_request_duration.labels(request.method, route).observe(elapsed)
            logger.info(
                "%s %s %s %.1fms",
                request.method,
                request.path,
                response.status_code,
                elapsed * 1000,
                extra={
                    "method": request.method,
                    "status": response.status_code,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
            response[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            context.end(token)

    def process_view(self, request: HttpRequest, view: Callable, args: Any, kwargs: Any) -> None:
        match = request.resolver_match
        if match is not None:
            # The pattern, not the path: /api/appointments/<int:pk>/ is one label for all ids.
            context.bind(route=match.route)
