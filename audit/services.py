"""The one way audit entries are written."""

from collections.abc import Sequence
from functools import partial
from typing import Any

from django.db import models, transaction

from audit import context
from audit.models import AdminActionLog, AuditLog
from observability import metrics


def _describe(obj: models.Model | None) -> tuple[str, str]:
    if obj is None:
        return "", ""
    return obj._meta.label_lower.split(".")[-1], str(obj.pk)


def _entry(
    *, actor: Any, action: str, object_type: str, object_id: str | int, details: dict[str, Any] | None
) -> AuditLog:
    """An unsaved entry, with the request's address and user agent (the request context),
    counted in the metrics once the caller's transaction commits."""
    request = context.current()
    # Counted once the action has committed: a rolled-back booking is no booking.
    transaction.on_commit(partial(metrics.domain_action, action))
    return AuditLog(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        ip=request.ip,
        user_agent=request.user_agent,
        details=details or {},
    )


# No savepoint: the entry belongs to the caller's change, and a failure fails the change.
@transaction.atomic(savepoint=False)
def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Append one audit entry, in the caller's transaction when there is one.

    `actor` is a User or None (the system, or an anonymous caller such as a failed
    sign-in). The request's address and user agent are taken from the request context.
    """
    if obj is not None:
        object_type, object_id = _describe(obj)
    entry = _entry(actor=actor, action=action, object_type=object_type, object_id=object_id, details=details)
    entry.save(force_insert=True)
    return entry


@transaction.atomic(savepoint=False)
def audit_record_each(
    *, actor: Any, action: str, objs: Sequence[models.Model], details: dict[str, Any] | None = None
) -> list[AuditLog]:
    """`audit_record` for each of `objs` (the same action and details), in one INSERT."""
    return AuditLog.objects.bulk_create(
        _entry(actor=actor, action=action, object_type=object_type, object_id=object_id, details=details)
        for object_type, object_id in map(_describe, objs)
    )


@transaction.atomic
def admin_action_record(
    *,
    admin: Any,
    action: str,
    obj: models.Model | None = None,
    description: str = "",
    details: dict[str, Any] | None = None,
) -> AdminActionLog:
    """Log a back-office action, and audit it beside the change."""
    object_type, object_id = _describe(obj)
    audit_record(actor=admin, action=f"admin.{action}", obj=obj, details=details)
    return AdminActionLog.objects.create(
        admin=admin,
        action=action,
        object_type=object_type,
        object_id=object_id,
        description=description,
        details=details or {},
    )
