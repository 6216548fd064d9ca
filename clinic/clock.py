"""The clinic's day and time: its time zone (a clinic setting) and today's date there."""

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import timezone

from clinic.registry import SettingSpec, clinic_setting, register

TIMEZONE = register(
    SettingSpec(
        key="timezone",
        type="timezone",
        default="UTC",
        help="The clinic's IANA time zone: availability rules and clinic days are in its wall-clock time.",
        public=True,
    )
)


def clinic_timezone() -> ZoneInfo:
    try:
        return ZoneInfo(clinic_setting("timezone"))
    except ZoneInfoNotFoundError:
        return ZoneInfo("UTC")


def clinic_today() -> date:
    """Today's date on the clinic's wall clock."""
    return timezone.now().astimezone(clinic_timezone()).date()
