"""Accounts in the back office: users by role, patients, doctors and their approval.

Writes go through accounts.services; the trail is written by audit.backoffice.AuditedModelAdmin.
Staff (reception) may look after patients and doctors; only admins make staff or admin
accounts, change roles, approve doctors or deactivate accounts, so nobody at the desk can
raise their own or anyone's rights.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.db import models
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from accounts import services
from accounts.authentication import request_user
from accounts.models import Doctor, Patient, User
from audit.backoffice import AuditedModelAdmin, has_role
from core.roles import ADMIN_ROLES, STAFF_ROLES, Role

# Roles staff may give to an account they create; admins may give any role.
STAFF_CREATABLE_ROLES = (Role.PATIENT,)

# Roles (core.roles) replace Django's groups and per-model permissions.
admin.site.unregister(Group)


class UserAddForm(forms.ModelForm):
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(
        label="Password (again)", strip=False, widget=forms.PasswordInput, help_text="The same password, to be sure."
    )

    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "phone", "role"]

    def clean_email(self) -> str:
        # The service stores emails in lower case; checking the same form here lets the
        # form's uniqueness check catch "Alice@..." against "alice@...".
        return self.cleaned_data["email"].strip().lower()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            try:
                validate_password(first, User(email=cleaned.get("email", ""), first_name=cleaned.get("first_name", "")))
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return cleaned


@admin.register(User)
class UserAdmin(AuditedModelAdmin):
    view_roles = STAFF_ROLES
    add_roles = STAFF_ROLES
    change_roles = STAFF_ROLES

    list_display = ["email", "first_name", "last_name", "role", "is_active", "date_joined", "last_login"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "first_name", "last_name", "phone"]
    ordering = ["-date_joined"]
    actions = ["deactivate"]
    fields = ["email", "first_name", "last_name", "phone", "role", "is_active", "date_joined", "last_login"]
    add_fieldsets = (
        (None, {"fields": ["email", "first_name", "last_name", "phone", "role", "password1", "password2"]}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> Any:
        return self.add_fieldsets if obj is None else super().get_fieldsets(request, obj)

    def get_form(self, request: HttpRequest, obj: User | None = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = UserAddForm
        form = super().get_form(request, obj, change=change, **kwargs)
        if "role" in form.base_fields and not has_role(request, ADMIN_ROLES):
            role_field = form.base_fields["role"]
            assert isinstance(role_field, forms.ChoiceField)  # the model field's choices make it one
            role_field.choices = [(r.value, r.label) for r in STAFF_CREATABLE_ROLES]
        return form

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> list[str]:
        if obj is None:
            return []
        # Email is the sign-in name; is_active changes only by deactivation (an action).
        readonly = ["email", "is_active", "date_joined", "last_login"]
        if not has_role(request, ADMIN_ROLES):
            readonly.append("role")
        return readonly

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        if not super().has_change_permission(request, obj):
            return False
        # Reception edits patients and doctors, never another back-office account.
        if obj is None or has_role(request, ADMIN_ROLES):
            return True
        return isinstance(obj, User) and obj.role in (Role.PATIENT, Role.DOCTOR)

    def has_deactivate_permission(self, request: HttpRequest) -> bool:
        return has_role(request, ADMIN_ROLES)

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            created = services.user_create(
                actor=request_user(request),
                email=data["email"],
                password=data["password1"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                phone=data.get("phone", ""),
                role=data["role"],
            )
            # The admin goes on with the form's instance (for its messages and redirect).
            obj.pk = created.pk
            obj.refresh_from_db()
            return
        editable = {f: data[f] for f in services.USER_FIELDS if f in form.changed_data}
        if editable:
            services.user_update(actor=request_user(request), user=obj, data=editable)
        if "role" in form.changed_data and has_role(request, ADMIN_ROLES):
            services.user_role_change(actor=request_user(request), user=obj, role=data["role"])

    @admin.action(description="Deactivate and anonymise the selected accounts", permissions=["deactivate"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = 0
        for user in queryset:
            if user.pk == request.user.pk:
                messages.warning(request, "You cannot deactivate your own account.")
                continue
            services.user_deactivate(actor=request_user(request), user=user)
            count += 1
        messages.success(request, f"{count} account(s) deactivated and anonymised.")


class _ProfileAdmin(AuditedModelAdmin):
    """Shared by patients and doctors: a profile's fields change through `user_update`."""

    profile_fields: tuple[str, ...] = ()
    list_select_related = ["user"]
    search_fields = ["user__email", "user__first_name", "user__last_name", "user__phone"]

    @admin.display(description="Name", ordering="user__last_name")
    def name(self, obj: Patient | Doctor) -> str:
        return obj.user.full_name or obj.user.email

    @admin.display(description="Email", ordering="user__email")
    def email(self, obj: Patient | Doctor) -> str:
        return obj.user.email

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        data = {f: form.cleaned_data[f] for f in self.profile_fields if f in form.changed_data}
        if data:
            services.user_update(actor=request_user(request), user=obj.user, data=data)


@admin.register(Patient)
class PatientAdmin(_ProfileAdmin):
    change_roles = STAFF_ROLES
    profile_fields = services.PATIENT_FIELDS
    list_display = ["name", "email", "date_of_birth", "gender"]
    list_filter = ["gender"]
    fields = ["user", *services.PATIENT_FIELDS]
    readonly_fields = ["user"]


class DoctorFilter(admin.RelatedFieldListFilter):
    """Filter a list by doctor, naming each doctor without one query per doctor."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        doctors = Doctor.objects.select_related("user").order_by("user__last_name", "id")
        return [(str(doctor.pk), str(doctor)) for doctor in doctors]


class ApprovalFilter(admin.SimpleListFilter):
    title = "approval"
    parameter_name = "approval"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("waiting", "Waiting for approval"), ("approved", "Approved")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Doctor]) -> QuerySet[Doctor]:
        if self.value() == "waiting":
            return queryset.filter(is_approved=False)
        if self.value() == "approved":
            return queryset.filter(is_approved=True)
        return queryset


@admin.register(Doctor)
class DoctorAdmin(_ProfileAdmin):
    change_roles = STAFF_ROLES
    profile_fields = services.DOCTOR_FIELDS
    list_display = ["name", "email", "specialization", "experience_years", "is_approved", "approved_at"]
    list_filter = [ApprovalFilter, "specialization"]
    search_fields = [*_ProfileAdmin.search_fields, "specialization"]
    fields = ["user", *services.DOCTOR_FIELDS, "is_approved", "approved_at"]
    readonly_fields = ["user", "is_approved", "approved_at"]
    actions = ["approve"]

    def has_approve_permission(self, request: HttpRequest) -> bool:
        return has_role(request, ADMIN_ROLES)

    @admin.action(description="Approve the selected doctors (listed and bookable)", permissions=["approve"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Doctor]) -> None:
        for doctor in queryset:
            services.doctor_approve(actor=request_user(request), doctor=doctor)
        messages.success(request, f"{len(queryset)} doctor(s) approved.")
