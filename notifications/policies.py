"""The clinic settings notifications read: reminder leads and the clinic's name in messages."""

from clinic.registry import SettingSpec, register

REMINDER_LEADS_MINUTES = register(
    SettingSpec(
        key="reminder_leads_minutes",
        type="int_list",
        default=[1440, 120],
        help="Reminders go out this many minutes before each appointment (one per lead and channel).",
        min_value=5,
        max_value=14 * 24 * 60,
    )
)
CLINIC_NAME = register(
    SettingSpec(
        key="clinic_name",
        type="str",
        default="the clinic",
        help="The clinic's name as patients read it in notifications.",
        public=True,
    )
)
