"""Rate limits on sign-up and sign-in hold under concurrent requests (real Redis, real threads)."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from rest_framework.test import APIClient

from tests.clock import hour_start
from tests.concurrency import run_together
from tests.factories import PASSWORD

THREADS = 16
LIMIT = 5


@pytest.fixture(autouse=True)
def _inside_one_rate_window(time_machine):
    # The limits count per fixed hour or minute window: a test that began at 10:59:59.9
    # would count in two windows. Each starts just after an hour begins.
    time_machine.move_to(hour_start(timezone.now()) + timedelta(seconds=1))


def fire(requests_to_send):
    """Send each request from its own thread, all released at once; returns the responses."""
    responses = run_together(
        len(requests_to_send),
        lambda index: APIClient().post(requests_to_send[index][0], requests_to_send[index][1], format="json"),
    )
    assert all(not isinstance(r, Exception) for r in responses), responses
    return responses


def assert_throttled(response):
    assert response.status_code == 429
    assert response.json()["code"] == "throttled"
    assert isinstance(response.json()["detail"], str)
    assert "fields" not in response.json()
    assert 1 <= int(response["Retry-After"]) <= 3600


def test_the_cache_is_redis():
    assert django_settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"


@pytest.mark.django_db(transaction=True)
def test_concurrent_logins_pass_exactly_the_limit(settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": f"{LIMIT}/hour"}
    responses = fire([("/api/auth/login/", {"email": "x@example.test", "password": "wrong"})] * THREADS)
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * LIMIT + [429] * (THREADS - LIMIT)
    for response in responses:
        if response.status_code == 429:
            assert_throttled(response)


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_pass_exactly_the_limit(settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "register": f"{LIMIT}/hour"}
    bodies = [
        (
            "/api/auth/register/",
            {"email": f"p{n}@example.test", "password": PASSWORD, "first_name": "P", "last_name": "Q"},
        )
        for n in range(THREADS)
    ]
    responses = fire(bodies)
    assert sorted(r.status_code for r in responses) == [201] * LIMIT + [429] * (THREADS - LIMIT)
    from accounts.models import User

    assert User.objects.count() == LIMIT


@pytest.mark.django_db(transaction=True)
def test_throttle_enabled_false_turns_the_limits_off(settings):
    settings.THROTTLE_ENABLED = False
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": "1/hour"}
    responses = fire([("/api/auth/login/", {"email": "x@example.test", "password": "wrong"})] * 8)
    assert {r.status_code for r in responses} == {401}


@pytest.mark.django_db
def test_register_and_login_count_separately(settings, anon):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": "1/hour", "register": "1/hour"}
    assert anon.post("/api/auth/login/", {"email": "a@b.test", "password": "x"}, format="json").status_code == 401
    assert_throttled(anon.post("/api/auth/login/", {"email": "a@b.test", "password": "x"}, format="json"))
    body = {"email": "r@example.test", "password": PASSWORD, "first_name": "R", "last_name": "S"}
    assert anon.post("/api/auth/register/", body, format="json").status_code == 201
    assert_throttled(anon.post("/api/auth/register/doctor/", body, format="json"))


@pytest.mark.django_db
def test_clients_are_counted_by_address(settings, anon):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login": "1/hour"}
    body = {"email": "a@b.test", "password": "x"}
    assert anon.post("/api/auth/login/", body, format="json", REMOTE_ADDR="198.51.100.1").status_code == 401
    assert anon.post("/api/auth/login/", body, format="json", REMOTE_ADDR="198.51.100.2").status_code == 401
    # A forged X-Forwarded-For does not buy a fresh allowance.
    response = anon.post(
        "/api/auth/login/", body, format="json", REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    assert_throttled(response)


def test_rates_parse():
    from core.throttling import parse_rate

    assert parse_rate("10/hour") == (10, 3600)
    assert parse_rate("20/minute") == (20, 60)
    assert parse_rate("3/s") == (3, 1)
    assert parse_rate("100/day") == (100, 86400)
