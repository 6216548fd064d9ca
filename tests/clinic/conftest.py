from collections.abc import Iterator

import pytest

from clinic import registry
from clinic.registry import SettingSpec

# One setting of every type, registered for a test and removed afterwards, so these tests
# do not depend on which settings the apps register.
SPECS = [
    SettingSpec(
        key="test_booking_horizon_days",
        type="int",
        default=60,
        help="How far ahead patients may book.",
        public=True,
        min_value=1,
        max_value=365,
    ),
    SettingSpec(key="test_visit_fee", type="decimal", default="45.00", help="Fee of a visit."),
    SettingSpec(key="test_reminder_hours", type="int_list", default=[24], help="Reminders.", min_value=1),
    SettingSpec(key="test_open_checkin", type="bool", default=True, help="Check-in open all day."),
]


@pytest.fixture
def registered_settings() -> Iterator[dict[str, SettingSpec]]:
    added = [spec for spec in SPECS if spec.key not in registry.REGISTRY]
    for spec in added:
        registry.register(spec)
    registry.clear_cache()
    try:
        yield {spec.key: registry.REGISTRY[spec.key] for spec in SPECS}
    finally:
        for spec in added:
            registry.REGISTRY.pop(spec.key, None)
        registry.clear_cache()
