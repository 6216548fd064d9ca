"""Named personas, in one place (after healthchecks' hc/test.py).

- alice: a patient.        bob: another patient, who should see nothing of alice's.
- carol: an approved doctor who treats alice.   dave: another doctor, no care relation.
- rita: reception (staff).  ada: the admin.
Every endpoint test checks that the outsider is refused.
"""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts import services
from accounts.models import User
from clinic import registry as clinic_registry
from core import queries
from tests import factories
from tests.clock import fixed_clinic_timezone, fixed_now, use_clinic_timezone
from tests.servers import daphne_server, redis_server, relay_process  # noqa: F401 (real processes, for live tests)


@pytest.fixture(autouse=True)
def _events_sent_by_the_process_that_commits(settings: Any) -> None:
    # Most tests watch events in this one process (WebsocketCommunicator), with no relay
    # process running: each commit sends its own events. The relay (EVENT_RELAY=listen,
    # production's default) is tested with real processes (tests/realtime/test_relay.py).
    settings.EVENT_RELAY = "inline"


@pytest.fixture(autouse=True, scope="session")
def _compiled_reads_verified() -> Iterator[None]:
    # Every reuse of a compiled read is checked against the queryset built afresh
    # (core.queries.VERIFY): a read hiding a value of its own fails here, not in production.
    queries.VERIFY = True
    yield
    queries.VERIFY = False


@pytest.fixture(autouse=True, scope="session")
def _session_clock() -> Iterator[None]:
    """With TEST_NOW, the whole session (database set-up included) runs at that instant."""
    instant = fixed_now()
    if instant is None:
        yield
        return
    with time_machine.travel(instant, tick=True):
        yield


@pytest.fixture(autouse=True)
def _test_clock(_session_clock: None) -> Iterator[None]:
    # Every test starts at TEST_NOW itself, not minutes later as the session ticks on, so
    # "08:59" means 08:59 for the last test too. Tests that move the clock further use
    # time-machine's `time_machine` fixture on top of this one.
    instant = fixed_now()
    if instant is None:
        yield
        return
    with time_machine.travel(instant, tick=True):
        yield


@pytest.fixture(autouse=True, scope="session")
def _session_clinic_timezone() -> Iterator[None]:
    """With TEST_CLINIC_TIMEZONE, that zone is the clinic's default for the whole run (in the
    processes tests start too: tests/clock.py, `in_test_clock`)."""
    name = fixed_clinic_timezone()
    if name is None:
        yield
        return
    restore = use_clinic_timezone(name)
    yield
    restore()


pytest_plugins = ["tests.documented_statuses"]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Argon2 with Django's defaults costs ~100 ms a hash; tests make hundreds. Argon2
    # stays listed so its hashes still verify (tests/accounts pins the real default).
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.Argon2PasswordHasher",
    ]


@pytest.fixture(autouse=True)
def _celery_join_flag_reset() -> None:
    # Eager tasks run under Celery's denied_join_result(), which saves and restores a
    # process-global flag: when threads run eager tasks at once, a thread can restore
    # another's "True" and leave it set, so a later test's result.get() raises "Never
    # call result.get() within a task". Start every test with Celery's own default.
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _fresh_clinic_settings() -> Iterator[None]:
    # Clinic settings are cached per process for a few seconds; a test's change (rolled
    # back with its transaction) must not leak into the next test.
    clinic_registry.clear_cache()
    yield
    clinic_registry.clear_cache()


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    # Throttle counters live in the cache, shared with other tests through Redis.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def alice(db: None) -> User:
    return factories.PatientFactory(email="alice@example.test", first_name="Alice", last_name="Anders")


@pytest.fixture
def bob(db: None) -> User:
    return factories.PatientFactory(email="bob@example.test", first_name="Bob", last_name="Baker")


@pytest.fixture
def carol(db: None) -> User:
    return factories.DoctorFactory(email="carol@example.test", first_name="Carol", last_name="Chen")


@pytest.fixture
def dave(db: None) -> User:
    return factories.DoctorFactory(email="dave@example.test", first_name="Dave", last_name="Diaz")


@pytest.fixture
def rita(db: None) -> User:
    return factories.StaffFactory(email="rita@example.test", first_name="Rita", last_name="Reception")


@pytest.fixture
def ada(db: None) -> User:
    return factories.AdminFactory(email="ada@example.test", first_name="Ada", last_name="Admin")


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for(db: None) -> Callable[[User], APIClient]:
    """`client_for(alice)`: an API client signed in as that user with a fresh token."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {services.token_issue(user=user).token}")
        return client

    return make


@pytest.fixture(autouse=True)
def _events_match_their_schemas() -> object:
    """Every realtime event any test stores is validated against its published JSON Schema.

    A test whose code publishes an event the contract does not describe fails here, with
    the schema error, at the publish() call.
    """
    from django.db.models.signals import post_save

    from realtime.contracts import validate_event
    from realtime.models import Event

    def check(sender: type, instance: Event, created: bool, **kwargs: object) -> None:
        if created:
            validate_event(topic=instance.topic, event=instance.name, data=instance.data)

    post_save.connect(check, sender=Event, dispatch_uid="tests-event-contract")
    yield
    post_save.disconnect(sender=Event, dispatch_uid="tests-event-contract")
