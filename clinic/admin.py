"""The clinic settings page: every key of the registry (`clinic.registry`), with its type,
default and help text, edited through `clinic.services.clinic_setting_set`."""

from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html

from audit.backoffice import AuditedModelAdmin
from clinic import registry, services
from clinic.models import ClinicSetting
from core.exceptions import DomainError
from core.roles import ADMIN_ROLES, STAFF_ROLES


def _value_field(spec: registry.SettingSpec, initial: Any) -> forms.Field:
    """A form field matching a setting's type, so the page validates as the API does."""
    common = {"label": "Value", "help_text": spec.help, "initial": initial}
    if spec.type == "int":
        return forms.IntegerField(min_value=spec.min_value, max_value=spec.max_value, **common)
    if spec.type == "decimal":
        return forms.DecimalField(min_value=0, **common)
    if spec.type == "bool":
        return forms.BooleanField(required=False, **common)
    if spec.type == "timezone":
        return forms.ChoiceField(choices=[(z, z) for z in sorted(available_timezones())], **common)
    if spec.type == "int_list":
        common["initial"] = ", ".join(str(v) for v in initial or [])
        common["help_text"] = f"{spec.help} Whole numbers separated by commas."
        return forms.CharField(**common)
    return forms.CharField(max_length=500, required=False, **common)


def _form_value(spec: registry.SettingSpec, cleaned: Any) -> Any:
    """The form's cleaned value in the JSON form `clinic_setting_set` expects."""
    if spec.type == "int_list":
        try:
            return [int(part) for part in str(cleaned).replace(" ", "").split(",") if part]
        except ValueError:
            raise forms.ValidationError("Whole numbers separated by commas, such as 24, 2.") from None
    if spec.type == "decimal":
        return str(cleaned)
    return cleaned


def setting_form(spec: registry.SettingSpec, data: Any = None) -> forms.Form:
    form = forms.Form(data)
    form.fields["value"] = _value_field(spec, registry.clinic_setting(spec.key))
    return form


@admin.register(ClinicSetting)
class ClinicSettingAdmin(AuditedModelAdmin):
    """All settings of the registry, not only the changed rows: non-engineers see every knob.

    Staff may look, admins may change. Rows are written only by `clinic_setting_set`.
    """

    view_roles = STAFF_ROLES
    change_roles = ADMIN_ROLES

    def get_urls(self) -> list:
        edit = self.admin_site.admin_view(self.edit_view)
        return [path("edit/<str:key>/", edit, name="clinic_clinicsetting_edit"), *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        can_change = self.has_change_permission(request)
        changed_keys = set(ClinicSetting.objects.values_list("key", flat=True))
        values = registry.clinic_setting_values()
        rows = []
        for key in sorted(registry.REGISTRY):
            spec = registry.REGISTRY[key]
            rows.append(
                {
                    "spec": spec,
                    "value": values[key],
                    "changed": key in changed_keys,
                    "edit_url": reverse("admin:clinic_clinicsetting_edit", args=[key]) if can_change else "",
                }
            )
        context = {
            **self.admin_site.each_context(request),
            "title": "Clinic settings",
            "opts": self.opts,
            "rows": rows,
            "can_change": can_change,
        }
        return render(request, "admin/clinic/clinicsetting/registry.html", context)

    def change_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> HttpResponse:
        setting = ClinicSetting.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if setting is None:
            return HttpResponseRedirect(reverse("admin:clinic_clinicsetting_changelist"))
        return HttpResponseRedirect(reverse("admin:clinic_clinicsetting_edit", args=[setting.key]))

    def edit_view(self, request: HttpRequest, key: str) -> HttpResponse:
        spec = registry.REGISTRY.get(key)
        if spec is None or not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:clinic_clinicsetting_changelist"))
        form = setting_form(spec, request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                value = _form_value(spec, form.cleaned_data["value"])
                with transaction.atomic():
                    stored = services.clinic_setting_set(actor=request.user, key=key, value=value)
                    setting = ClinicSetting.objects.get(key=key)
                    self.record(request, "changed", setting, details={"key": key, "value": stored})
            except forms.ValidationError as exc:
                form.add_error("value", exc)
            except DomainError as exc:
                for message in (exc.fields or {}).get("value", [exc.detail]):
                    form.add_error("value", message)
            else:
                messages.success(request, format_html("Setting <b>{}</b> is now {}.", key, stored))
                return HttpResponseRedirect(reverse("admin:clinic_clinicsetting_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Change setting {key}",
            "opts": self.opts,
            "spec": spec,
            "form": form,
            "default": spec.default,
        }
        return render(request, "admin/clinic/clinicsetting/edit.html", context)
