"""Rate limits with atomic counters.

DRF's SimpleRateThrottle reads a list from the cache, appends and writes it back: two
concurrent requests both read the old list and both pass. A fixed-window counter kept
with `cache.add` + `cache.incr` is atomic in Redis (INCR) and in the local-memory cache
(it holds a lock), so N racing requests are counted N times.
"""

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """`"10/hour"` → (10, 3600)."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0].lower()]


def client_ip(request: Request) -> str:
    # Behind a proxy, REMOTE_ADDR is the proxy; the deployment sets the real address
    # there (daphne --proxy-headers), so X-Forwarded-For from clients is not trusted.
    return request.META.get("REMOTE_ADDR") or "unknown"


class ScopedRateThrottle(BaseThrottle):
    """Counts requests per scope and client; the rate comes from settings.THROTTLE_RATES."""

    scope: str = ""

    def __init__(self) -> None:
        self.wait_seconds: float | None = None

    def ident(self, request: Request) -> str:
        return client_ip(request)

    def allow_request(self, request: Request, view: APIView) -> bool:
        if not settings.THROTTLE_ENABLED:
            return True
        limit, period = parse_rate(settings.THROTTLE_RATES[self.scope])
        now = time.time()
        window = int(now // period)
        key = f"throttle:{self.scope}:{self.ident(request)}:{window}"
        cache.add(key, 0, timeout=period + 1)
        try:
            count = cache.incr(key)
        except ValueError:  # the key expired between add and incr
            cache.add(key, 1, timeout=period + 1)
            count = 1
        if count > limit:
            self.wait_seconds = (window + 1) * period - now
            return False
        return True

    def wait(self) -> float | None:
        return self.wait_seconds


class RegisterThrottle(ScopedRateThrottle):
    scope = "register"


class LoginThrottle(ScopedRateThrottle):
    scope = "login"
