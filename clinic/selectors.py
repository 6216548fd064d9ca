"""Reads of clinic settings, scoped to the actor."""

from dataclasses import dataclass
from typing import Any

from clinic import registry
from core.roles import ADMIN_ROLES


@dataclass(frozen=True)
class SettingView:
    key: str
    type: str
    value: Any
    default: Any
    help: str
    public: bool
    min_value: int | None
    max_value: int | None


def _view(spec: registry.SettingSpec, value: Any) -> SettingView:
    return SettingView(
        key=spec.key,
        type=spec.type,
        value=value,
        default=spec.default,
        help=spec.help,
        public=spec.public,
        min_value=spec.min_value,
        max_value=spec.max_value,
    )


def _is_admin(actor: Any) -> bool:
    return bool(actor and actor.is_authenticated and getattr(actor, "role", None) in ADMIN_ROLES)


def clinic_setting_list(*, actor: Any) -> list[SettingView]:
    """Every setting for admins; the public ones (time zone, booking horizon...) for others."""
    values = registry.clinic_setting_values()
    specs = sorted(registry.REGISTRY.values(), key=lambda spec: spec.key)
    return [_view(spec, values[spec.key]) for spec in specs if spec.public or _is_admin(actor)]


def clinic_setting_get(*, key: str) -> SettingView:
    """One setting (for the admin who just changed it)."""
    return _view(registry.REGISTRY[key], registry.clinic_setting(key))
