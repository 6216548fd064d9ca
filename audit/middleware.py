from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit import context


class RequestContextMiddleware:
    """Makes the client's address and user agent available to audit entries."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = context.set_current(
            context.RequestContext(
                ip=request.META.get("REMOTE_ADDR") or None,
                user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
            )
        )
        try:
            return self.get_response(request)
        finally:
            context.reset(token)
