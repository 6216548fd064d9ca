"""FHIR fixtures: carol works every day (a 7-day horizon), as in the scheduling tests."""

from collections.abc import Iterator

import pytest

from accounts.models import User
from clinic.registry import clear_cache
from tests.scheduling.helpers import HORIZON_DAYS, give_hours, set_policy


@pytest.fixture(autouse=True)
def _fresh_clinic_settings() -> Iterator[None]:
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def carol_hours(db: None, carol: User, ada: User) -> User:
    set_policy("booking_horizon_days", HORIZON_DAYS)
    give_hours(carol, ada)
    return carol
