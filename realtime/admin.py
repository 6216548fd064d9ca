"""Display devices in the back office: admins issue and revoke reception-screen tokens.

A token is created through `display_token_create` and shown once, on the page after
saving; only its hash is stored. Revoking goes through `display_token_revoke`. The
event outbox is internal and not shown. The trail is written by AuditedModelAdmin.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.html import format_html

from accounts.authentication import request_user
from audit.backoffice import AuditedModelAdmin
from core.roles import ADMIN_ROLES
from realtime import services
from realtime.models import DisplayToken


class DisplayTokenForm(forms.ModelForm):
    class Meta:
        model = DisplayToken
        fields = ["name"]
        help_texts = {"name": "Where the screen hangs, such as “Waiting room, first floor”."}


@admin.register(DisplayToken)
class DisplayTokenAdmin(AuditedModelAdmin):
    view_roles = ADMIN_ROLES
    add_roles = ADMIN_ROLES
    form = DisplayTokenForm
    list_display = ["name", "created_at", "created_by", "expires_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name"]
    list_select_related = ["created_by"]
    actions = ["revoke", "rotate"]

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request)

    def save_model(self, request: HttpRequest, obj: DisplayToken, form: ModelForm, change: bool) -> None:
        issued = services.display_token_create(actor=request_user(request), name=form.cleaned_data["name"])
        obj.pk = issued.display.pk
        obj.refresh_from_db()
        messages.warning(
            request,
            format_html(
                "Token for <b>{}</b>: <code>{}</code> — enter it on the screen now; it is not shown again.",
                issued.display.name,
                issued.token,
            ),
        )

    @admin.action(description="Revoke the selected display tokens", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[DisplayToken]) -> None:
        for display in queryset:
            services.display_token_revoke(actor=request_user(request), display=display)
        messages.success(request, f"{len(queryset)} display token(s) revoked.")

    @admin.action(description="Rotate the selected display tokens (new token, new expiry)", permissions=["revoke"])
    def rotate(self, request: HttpRequest, queryset: QuerySet[DisplayToken]) -> None:
        for display in queryset.filter(revoked_at__isnull=True):
            issued = services.display_token_rotate(actor=request_user(request), display=display)
            messages.warning(
                request,
                format_html(
                    "New token for <b>{}</b>: <code>{}</code> — enter it on the screen now; it is not shown again.",
                    issued.display.name,
                    issued.token,
                ),
            )
