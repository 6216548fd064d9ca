from datetime import datetime

from django.db.models import QuerySet

from audit.models import AuditLog


def audit_log_list(
    *, actor_id: int | None = None, action: str = "", since: datetime | None = None
) -> QuerySet[AuditLog]:
    """Audit entries for admins, newest first, optionally filtered."""
    entries = AuditLog.objects.all()
    if actor_id is not None:
        entries = entries.filter(actor_id=actor_id)
    if action:
        entries = entries.filter(action=action)
    if since is not None:
        entries = entries.filter(at__gte=since)
    return entries.order_by("-id")
