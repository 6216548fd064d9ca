"""Search parameters: the one declaration of what each search accepts, and its parsing.

The same declaration feeds the CapabilityStatement, so what `metadata` advertises is what
the searches accept. Anything else in the query string is refused with 400 (an
OperationOutcome naming the parameter), never silently ignored.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.http import QueryDict

from clinic.clock import clinic_timezone
from core.exceptions import ValidationFailed
from scheduling import calendar

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str  # FHIR search parameter type: reference, date, token, number
    documentation: str
    repeats: int = 1
    required: bool = False


_COUNT = SearchParam("_count", "number", f"Page size, 1 to {MAX_PAGE_SIZE} (default {DEFAULT_PAGE_SIZE}).")
_PAGE = SearchParam("page", "number", "Page number, from 1 (the Bundle's next/previous links carry it).")
# Accepted on every interaction; only JSON is served.
FORMAT = SearchParam("_format", "token", "json, application/json or application/fhir+json.")
_JSON_FORMATS = {"json", "application/json", "application/fhir+json"}

SEARCH_PARAMS: dict[str, tuple[SearchParam, ...]] = {
    "Schedule": (
        SearchParam("actor", "reference", "Practitioner/{id}: that doctor's one schedule."),
        _COUNT,
        _PAGE,
    ),
    "Slot": (
        SearchParam("schedule", "reference", "Schedule/{id} (required): the doctor's slots.", required=True),
        SearchParam(
            "start",
            "date",
            "Twice at most, with ge/gt/le/lt/eq: the window (31 days at most; default: from now, 31 days).",
            repeats=2,
        ),
        SearchParam("status", "token", "free or busy (comma-separated for either)."),
    ),
    "Appointment": (
        SearchParam("patient", "reference", "Patient/{id}."),
        SearchParam("practitioner", "reference", "Practitioner/{id}."),
        SearchParam("status", "token", "booked, arrived, fulfilled, noshow, cancelled (comma-separated)."),
        SearchParam("date", "date", "Twice at most, with ge/gt/le/lt/eq: when the appointment starts.", repeats=2),
        _COUNT,
        _PAGE,
    ),
}

_PREFIXED = re.compile(r"^(eq|ge|gt|le|lt)?(\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2}))?)$")


def _refuse(name: str, message: str) -> ValidationFailed:
    return ValidationFailed("Invalid search parameters.", fields={name: [message]})


def check_known(query: QueryDict, params: Iterable[SearchParam]) -> dict[str, list[str]]:
    """The query's values by name; 400 for an unknown name or too many values of one."""
    declared = {param.name: param for param in (*params, FORMAT)}
    values: dict[str, list[str]] = {}
    for name in query:
        param = declared.get(name)
        if param is None:
            raise _refuse(name, "Not a supported parameter here (see /fhir/R4/metadata).")
        found = query.getlist(name)
        if len(found) > param.repeats:
            raise _refuse(name, f"Given {len(found)} times; at most {param.repeats}.")
        values[name] = found
    for param in declared.values():
        if param.required and param.name not in values:
            raise _refuse(param.name, "Required.")
    for value in values.get(FORMAT.name, []):
        if value not in _JSON_FORMATS:
            raise _refuse(FORMAT.name, "Only JSON is served.")
    return values


def reference_id(name: str, value: str, resource_type: str) -> int:
    """`Practitioner/12`, or a bare `12`, → 12."""
    raw = value.removeprefix(f"{resource_type}/")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise _refuse(name, f"Expected {resource_type}/{{id}}.")
    return int(raw)


def tokens(name: str, value: str, allowed: Iterable[str]) -> set[str]:
    chosen = {token.strip() for token in value.split(",")}
    unknown = chosen - set(allowed)
    if unknown:
        raise _refuse(name, f"Unknown value {sorted(unknown)[0]!r}; one of {', '.join(sorted(allowed))}.")
    return chosen


def _interval(name: str, raw: str) -> tuple[datetime, datetime]:
    """A date is its clinic day; a dateTime, the second it names."""
    try:
        if "T" not in raw:
            return calendar.day_bounds(date.fromisoformat(raw), clinic_timezone())
        instant = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise _refuse(name, f"{raw!r} is not a FHIR date or dateTime.") from None
    return instant, instant + timedelta(seconds=1)


def date_window(name: str, values: list[str]) -> tuple[datetime | None, datetime | None]:
    """`[lower, upper)` from prefixed FHIR dates (ge, gt, le, lt, eq; none means eq)."""
    lower: datetime | None = None
    upper: datetime | None = None
    for value in values:
        match = _PREFIXED.match(value)
        if match is None:
            raise _refuse(name, f"{value!r}: expected [ge|gt|le|lt|eq]YYYY-MM-DD or a dateTime with an offset.")
        prefix, raw = match.group(1) or "eq", match.group(2)
        start, end = _interval(name, raw)
        low, high = {
            "eq": (start, end),
            "ge": (start, None),
            "gt": (end, None),
            "lt": (None, start),
            "le": (None, end),
        }[prefix]
        if low is not None:
            lower = low if lower is None else max(lower, low)
        if high is not None:
            upper = high if upper is None else min(upper, high)
    if lower is not None and upper is not None and upper <= lower:
        raise _refuse(name, "The window is empty.")
    return lower, upper


def paging(values: dict[str, list[str]]) -> tuple[int, int]:
    """(page size, page number) from `_count` and `page`."""
    size, number = DEFAULT_PAGE_SIZE, 1
    for name, low, high in ((_COUNT.name, 1, MAX_PAGE_SIZE), (_PAGE.name, 1, None)):
        if name not in values:
            continue
        raw = values[name][0]
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or not low <= int(raw) <= (high or int(raw)):
            raise _refuse(name, f"A whole number from {low}" + (f" to {high}." if high else "."))
        if name == _COUNT.name:
            size = int(raw)
        else:
            number = int(raw)
    return size, number


def first(values: dict[str, list[str]], name: str) -> Any:
    found = values.get(name)
    return found[0] if found else None
