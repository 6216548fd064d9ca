"""Every write to clinic settings."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from clinic import registry
from clinic.models import ClinicSetting
from core.exceptions import NotFound, ValidationFailed


@transaction.atomic
def clinic_setting_set(*, actor: Any, key: str, value: Any) -> Any:
    """Change one setting (admins only; the caller checks the role). Audited."""
    spec = registry.REGISTRY.get(key)
    if spec is None:
        raise NotFound("No such setting.")
    try:
        stored = registry.coerce(spec, value)
    except ValueError as exc:
        raise ValidationFailed(fields={"value": [str(exc)]}) from exc
    ClinicSetting.objects.update_or_create(key=key, defaults={"value": stored, "updated_at": timezone.now()})
    audit_record(
        actor=actor, action="setting.changed", object_type="clinicsetting", object_id=key, details={"value": stored}
    )
    transaction.on_commit(registry.clear_cache)
    registry.forget(key)
    return registry.typed(spec, stored)
