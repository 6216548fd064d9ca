"""Parsing request input: the one helper every API module uses, and bounded date fields."""

from datetime import date, datetime
from typing import Any

from rest_framework import serializers

# The calendar a client may name: wide enough for any birth date or booking, narrow
# enough that date arithmetic (a day's end, a span of days, a time-zone shift) never
# leaves Python's range, which answered 500 at 9999-12-31 and 0001-01-01.
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)
_OUT_OF_RANGE = f"Must be between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}."


class BoundedDateField(serializers.DateField):
    """A date between EARLIEST_DATE and LATEST_DATE; anything else is 400."""

    default_error_messages = {"out_of_range": _OUT_OF_RANGE}

    def to_internal_value(self, value: Any) -> date:
        day = super().to_internal_value(value)
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            self.fail("out_of_range")
        return day


class BoundedDateTimeField(serializers.DateTimeField):
    """A datetime whose day lies between EARLIEST_DATE and LATEST_DATE; anything else is 400."""

    default_error_messages = {"out_of_range": _OUT_OF_RANGE}

    def to_internal_value(self, value: Any) -> datetime:
        moment = super().to_internal_value(value)
        if not EARLIEST_DATE <= moment.date() <= LATEST_DATE:
            self.fail("out_of_range")
        return moment


def validated(serializer_class: type[serializers.Serializer], data: object, **kwargs: Any) -> dict[str, Any]:
    """Validate `data` with an input serializer; invalid input raises (400 with `fields`)."""
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data
