"""The back office's common ground: role-based permissions and one audit trail.

Every ModelAdmin of the project derives from `AuditedModelAdmin`. It decides what a
signed-in back-office user may see and do from their role (not from Django's per-model
permission rows, which nobody at the clinic maintains), and it writes one AdminActionLog
entry plus one audit entry (audit.services.admin_action_record) for every addition,
change, deletion and action, inside the transaction of the change. Individual admins
only say which roles may do what and which service performs each write.
"""

import functools
import json
import logging
from collections.abc import Callable, Collection
from typing import Any

from django.contrib import admin, messages
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from audit.services import admin_action_record
from core.exceptions import DomainError
from core.roles import ADMIN_ROLES, NO_ROLES, STAFF_ROLES

logger = logging.getLogger(__name__)


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def has_role(request: HttpRequest, roles: Collection[str]) -> bool:
    user = request.user
    return bool(user.is_active and user.is_authenticated and getattr(user, "role", None) in roles)


def refuse(request: HttpRequest, exc: DomainError) -> None:
    """Show a refused service call to the back-office user as an error message."""
    messages.error(request, exc.detail)


class AuditedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose permissions come from roles and whose every change is logged.

    Subclasses set the role sets below and route writes to services in `save_model` /
    `delete_model`; logging happens here, once.
    """

    view_roles: frozenset[str] = STAFF_ROLES
    add_roles: frozenset[str] = NO_ROLES
    change_roles: frozenset[str] = NO_ROLES
    delete_roles: frozenset[str] = NO_ROLES

    # --- permissions --------------------------------------------------------------

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return has_role(request, self.view_roles | self.change_roles)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return has_role(request, self.add_roles)

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return has_role(request, self.change_roles)

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return has_role(request, self.delete_roles)

    # --- the trail ----------------------------------------------------------------

    def record(
        self, request: HttpRequest, verb: str, obj: models.Model, *, details: dict[str, Any] | None = None
    ) -> None:
        """One AdminActionLog entry and one audit entry, as `<model>.<verb>`."""
        admin_action_record(
            admin=request.user,
            action=f"{obj._meta.model_name}.{verb}",
            obj=obj,
            description=str(obj)[:500],
            details=_json_safe(details or {}),
        )

    def log_addition(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        entry = super().log_addition(request, obj, message)
        self.record(request, "added", obj, details={"changes": message})
        return entry

    def log_change(self, request: HttpRequest, obj: models.Model, message: Any) -> Any:
        entry = super().log_change(request, obj, message)
        self.record(request, "changed", obj, details={"changes": message})
        return entry

    def log_deletions(self, request: HttpRequest, queryset: Any) -> Any:
        # A queryset from the bulk path, a one-object list from the delete page.
        objects = list(queryset)
        entries = super().log_deletions(request, queryset)
        for obj in objects:
            self.record(request, "deleted", obj)
        return entries

    # --- refusals -------------------------------------------------------------------

    def changeform_view(
        self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            # A service refused what the form let through (a race, a rule the form cannot
            # see); the transaction is rolled back and the user told why.
            refuse(request, exc)
            return HttpResponseRedirect(request.get_full_path())

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        """Every action runs in one transaction and is logged once per selected object."""
        return {
            name: (self._audited_action(action[0], name), name, action[2])
            for name, action in super().get_actions(request).items()
            if action is not None
        }

    def _audited_action(self, func: Callable, name: str) -> Callable:
        @functools.wraps(func)
        def run(modeladmin: "AuditedModelAdmin", request: HttpRequest, queryset: models.QuerySet) -> Any:
            objects = list(queryset)
            try:
                with transaction.atomic():
                    response = func(modeladmin, request, queryset)
                    for obj in objects:
                        modeladmin.record(request, name, obj)
            except DomainError as exc:
                # The whole action is undone; say why instead of a server error.
                refuse(request, exc)
                return None
            return response

        return run


class ReadOnlyAdmin(AuditedModelAdmin):
    """Visible to admins, changeable by nobody, superusers included."""

    view_roles = ADMIN_ROLES

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}


class ReadOnlyInline(admin.TabularInline):
    """Related rows shown on a parent's page for staff and admins, never edited there."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return has_role(request, STAFF_ROLES)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
