"""Scheduling fixtures: a short horizon, doctors with every-day hours, free slots to book."""

from collections.abc import Callable

import pytest

from accounts.models import User
from scheduling.models import Slot
from tests.scheduling.helpers import HORIZON_DAYS, free_slots, give_hours, set_policy


@pytest.fixture
def clinic(db: None) -> None:
    """A clinic with a 7-day horizon (fewer slots, quicker tests)."""
    set_policy("booking_horizon_days", HORIZON_DAYS)


@pytest.fixture
def carol_hours(clinic: None, carol: User, ada: User) -> User:
    give_hours(carol, ada)
    return carol


@pytest.fixture
def dave_hours(clinic: None, dave: User, ada: User) -> User:
    give_hours(dave, ada)
    return dave


@pytest.fixture
def slot_of(carol_hours: User) -> Callable[[int], Slot]:
    """`slot_of(n)`: carol's n-th free slot from the clinic's day after tomorrow on."""

    def pick(index: int = 0) -> Slot:
        return free_slots(carol_hours)[index]

    return pick
