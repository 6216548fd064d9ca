"""Security headers the framework does not set by itself: a Content-Security-Policy on every
response. HTML pages may run only scripts served by us or carrying this response's nonce
(`request.csp_nonce`, for the display page's one inline script); JSON answers may load
nothing at all. Neither may be framed."""

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def html_policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            # The admin and the display page style elements inline; styles cannot run code.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            # 'self' covers the page's own ws:/wss: origin for the display's socket.
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]  # read by templates
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            is_html = response.get("Content-Type", "").startswith("text/html")
            response["Content-Security-Policy"] = html_policy(nonce) if is_html else API_POLICY
        return response
