"""The waitlist's clinic settings."""

from clinic.registry import SettingSpec, register

OFFER_MINUTES = register(
    SettingSpec(
        key="offer_minutes",
        type="int",
        default=15,
        help="How long a freed slot offered to a waiting patient is held for them before it passes on.",
        public=True,
        min_value=1,
        max_value=24 * 60,
    )
)
