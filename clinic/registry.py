"""Typed clinic settings: one registry of every key, read through `clinic_setting(key)`.

Written only by `clinic.services.clinic_setting_set`.

Each app declares its own keys with `register(...)` in a module imported from its
AppConfig.ready (scheduling/policies.py, billing/policies.py, ...). Values are validated
by type on write and cached per process for a few seconds, so a hot path reading the
clinic's time zone does not hit the database every time.
"""

import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import available_timezones

from clinic.models import ClinicSetting

_CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class SettingSpec:
    key: str
    type: str  # "int", "decimal", "str", "bool", "timezone", "int_list"
    default: Any
    help: str
    public: bool = False
    min_value: int | None = None
    max_value: int | None = None


REGISTRY: dict[str, SettingSpec] = {}
_cache: dict[str, tuple[float, Any]] = {}


def register(spec: SettingSpec) -> SettingSpec:
    REGISTRY[spec.key] = spec
    return spec


def coerce(spec: SettingSpec, value: Any) -> Any:
    """Validate `value` for `spec`; returns the JSON-storable form."""
    if spec.type == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("Must be a whole number.")
        if spec.min_value is not None and value < spec.min_value:
            raise ValueError(f"Must be at least {spec.min_value}.")
        if spec.max_value is not None and value > spec.max_value:
            raise ValueError(f"Must be at most {spec.max_value}.")
        return value
    if spec.type == "int_list":
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise ValueError("Must be a list of whole numbers.")
        if spec.min_value is not None and any(v < spec.min_value for v in value):
            raise ValueError(f"Every value must be at least {spec.min_value}.")
        if spec.max_value is not None and any(v > spec.max_value for v in value):
            raise ValueError(f"Every value must be at most {spec.max_value}.")
        return sorted(set(value), reverse=True)
    if spec.type == "decimal":
        try:
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise ValueError("Must be a decimal number.") from None
        if not number.is_finite() or number < 0:
            raise ValueError("Must be a non-negative decimal number.")
        return str(number)
    if spec.type == "bool":
        if not isinstance(value, bool):
            raise ValueError("Must be true or false.")
        return value
    if spec.type == "timezone":
        if not isinstance(value, str) or value not in available_timezones():
            raise ValueError("Must be an IANA time zone name, such as Europe/London.")
        return value
    if spec.type == "str":
        if not isinstance(value, str) or len(value) > 500:
            raise ValueError("Must be text of at most 500 characters.")
        return value
    raise ValueError(f"Unknown setting type {spec.type}.")


def typed(spec: SettingSpec, stored: Any) -> Any:
    return Decimal(stored) if spec.type == "decimal" else stored


def clinic_setting(key: str) -> Any:
    """The current value of a clinic setting, typed (Decimal for money and rates)."""
    spec = REGISTRY[key]
    cached = _cache.get(key)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    row = ClinicSetting.objects.filter(key=key).values_list("value", flat=True).first()
    value = typed(spec, spec.default if row is None else row)
    _cache[key] = (now + _CACHE_SECONDS, value)
    return value


def clinic_setting_values() -> dict[str, Any]:
    """Every registered setting's current value, typed, in one query (for listings)."""
    stored = dict(ClinicSetting.objects.filter(key__in=list(REGISTRY)).values_list("key", "value"))
    return {key: typed(spec, stored.get(key, spec.default)) for key, spec in REGISTRY.items()}


def clear_cache() -> None:
    _cache.clear()


def forget(key: str) -> None:
    """Drop one key's cached value in this process (the writer's own next read is fresh)."""
    _cache.pop(key, None)
