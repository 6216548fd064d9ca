"""The audit trail in the back office: visible to admins, read-only for everyone."""

from django.contrib import admin

from audit.backoffice import ReadOnlyAdmin
from audit.models import AdminActionLog, AuditLog


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "action", "actor", "object_type", "object_id", "ip"]
    list_filter = ["action", "object_type"]
    search_fields = ["action", "object_type", "object_id", "actor__email"]
    list_select_related = ["actor"]
    date_hierarchy = "at"
    show_full_result_count = False


@admin.register(AdminActionLog)
class AdminActionLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "admin", "action", "object_type", "object_id", "description"]
    list_filter = ["action", "object_type"]
    search_fields = ["action", "description", "object_id", "admin__email"]
    list_select_related = ["admin"]
    date_hierarchy = "at"
