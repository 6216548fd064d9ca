"""What browsers are told to enforce: HTTPS, secure cookies, HSTS, headers, and which other
origins may call the API (CORS). The Content-Security-Policy is core/middleware.py."""

from config.settings.base import DEBUG, env

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# Portals on other origins (browser apps) that may call the API and open /ws/; exact
# origins such as https://portal.clinic.example. Empty: same-origin only. Requests carry a
# Bearer token, never cookies, so credentials are not allowed cross-origin.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/(api|fhir)/.*$"
CORS_ALLOW_CREDENTIALS = False
CORS_EXPOSE_HEADERS = ["Retry-After", "Idempotent-Replayed", "Content-Disposition"]
CORS_PREFLIGHT_MAX_AGE = 600
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
