"""Scheduling in the back office: availability per doctor, the day's appointments.

Bookings and availability change only through the scheduling services (which keep slots,
the queue and the realtime events consistent): rules and time off are added (and rules
removed) through them, appointments are moved along their lifecycle by actions that call
them. The trail is written by AuditedModelAdmin.
"""

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils import timezone

from accounts.admin import DoctorAdmin, DoctorFilter
from accounts.authentication import request_user
from accounts.models import Doctor
from audit.backoffice import AuditedModelAdmin, ReadOnlyInline, has_role
from clinic.clock import clinic_timezone
from core.roles import STAFF_ROLES
from scheduling import services
from scheduling.models import Appointment, AppointmentStatus, AvailabilityException, AvailabilityRule, Hold

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class _DoctorScoped(AuditedModelAdmin):
    view_roles = STAFF_ROLES
    list_select_related = ["doctor__user"]
    list_filter = [("doctor", DoctorFilter)]
    search_fields = ["doctor__user__first_name", "doctor__user__last_name", "doctor__specialization"]


@admin.register(AvailabilityRule)
class AvailabilityRuleAdmin(_DoctorScoped):
    """Weekly hours: added and removed (not edited) through the scheduling services,
    which regenerate the doctor's slots; booked slots stay booked."""

    add_roles = STAFF_ROLES
    delete_roles = STAFF_ROLES
    list_display = [
        "doctor", "day", "start_time", "end_time", "slot_minutes", "buffer_minutes", "valid_from", "valid_until"
    ]  # fmt: skip
    list_filter = [("doctor", DoctorFilter), "weekday"]
    fields = [
        "doctor",
        "weekday",
        "start_time",
        "end_time",
        "slot_minutes",
        "buffer_minutes",
        "valid_from",
        "valid_until",
    ]

    @admin.display(description="Day", ordering="weekday")
    def day(self, rule: AvailabilityRule) -> str:
        return WEEKDAYS[rule.weekday]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "weekday":
            return forms.TypedChoiceField(choices=list(enumerate(WEEKDAYS)), coerce=int, label="Day")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: AvailabilityRule, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        rule = services.rule_create(
            actor=request_user(request),
            doctor=data["doctor"],
            weekday=data["weekday"],
            start_time=data["start_time"],
            end_time=data["end_time"],
            slot_minutes=data["slot_minutes"],
            buffer_minutes=data["buffer_minutes"],
            valid_from=data.get("valid_from"),
            valid_until=data.get("valid_until"),
        )
        obj.pk = rule.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: AvailabilityRule) -> None:
        services.rule_delete(actor=request_user(request), rule=obj)


@admin.register(AvailabilityException)
class AvailabilityExceptionAdmin(_DoctorScoped):
    """Time off, added through `exception_create`: free slots inside become unavailable."""

    add_roles = STAFF_ROLES
    list_display = ["doctor", "start", "end", "reason"]
    fields = ["doctor", "start", "end", "reason"]
    date_hierarchy = "start"

    def save_model(self, request: HttpRequest, obj: AvailabilityException, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        exception = services.exception_create(
            actor=request_user(request),
            doctor=data["doctor"],
            start=data["start"],
            end=data["end"],
            reason=data["reason"],
        )
        obj.pk = exception.pk
        obj.refresh_from_db()


class DayFilter(admin.SimpleListFilter):
    """Days as the clinic counts them (its time zone), not as the server does."""

    title = "day"
    parameter_name = "day"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("today", "Today"), ("tomorrow", "Tomorrow"), ("yesterday", "Yesterday"), ("week", "Next 7 days")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> QuerySet[Appointment]:
        offsets = {"today": (0, 1), "tomorrow": (1, 1), "yesterday": (-1, 1), "week": (0, 7)}
        chosen = self.value()
        if chosen not in offsets:
            return queryset
        first, days = offsets[chosen]
        zone = clinic_timezone()
        today = timezone.now().astimezone(zone).date()
        start = datetime.combine(today + timedelta(days=first), datetime.min.time(), tzinfo=zone)
        end = datetime.combine(today + timedelta(days=first + days), datetime.min.time(), tzinfo=zone)
        return queryset.filter(start__gte=start, start__lt=end)


@admin.register(Appointment)
class AppointmentAdmin(AuditedModelAdmin):
    view_roles = STAFF_ROLES
    list_display = ["start", "doctor", "patient_name", "status", "queue_number", "checked_in_at"]
    list_filter = [DayFilter, "status", ("doctor", DoctorFilter)]
    search_fields = ["patient__user__first_name", "patient__user__last_name", "patient__user__email", "reason"]
    list_select_related = ["doctor__user", "patient__user"]
    date_hierarchy = "start"
    ordering = ["start", "id"]
    exclude = ["slot"]
    actions = ["check_in", "mark_no_show", "cancel"]

    @admin.display(description="Patient", ordering="patient__user__last_name")
    def patient_name(self, appointment: Appointment) -> str:
        return appointment.patient.user.full_name or appointment.patient.user.email

    def has_desk_permission(self, request: HttpRequest) -> bool:
        return has_role(request, STAFF_ROLES)

    def _set_status(self, request: HttpRequest, queryset: QuerySet[Appointment], status: str) -> None:
        # All or nothing: one refused move (say, a no-show before the start) undoes the
        # batch, and the back-office user is told which rule refused it.
        for appointment in queryset:
            if status == AppointmentStatus.CANCELLED:
                services.appointment_cancel(actor=request_user(request), appointment=appointment)
            else:
                services.appointment_set_status(actor=request_user(request), appointment=appointment, status=status)
        messages.success(request, f"{len(queryset)} appointment(s) now {AppointmentStatus(status).label.lower()}.")

    @admin.action(description="Check in the selected patients", permissions=["desk"])
    def check_in(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> None:
        self._set_status(request, queryset, AppointmentStatus.CHECKED_IN)

    @admin.action(description="Mark the selected appointments as no-show", permissions=["desk"])
    def mark_no_show(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> None:
        self._set_status(request, queryset, AppointmentStatus.NO_SHOW)

    @admin.action(description="Cancel the selected appointments (frees their slots)", permissions=["desk"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Appointment]) -> None:
        self._set_status(request, queryset, AppointmentStatus.CANCELLED)


class AvailabilityRuleInline(ReadOnlyInline):
    model = AvailabilityRule
    fields = ["day", "start_time", "end_time", "slot_minutes", "valid_from", "valid_until"]
    readonly_fields = ["day"]

    @admin.display(description="Day")
    def day(self, rule: AvailabilityRule) -> str:
        return WEEKDAYS[rule.weekday]


class AvailabilityExceptionInline(ReadOnlyInline):
    model = AvailabilityException
    fields = ["start", "end", "reason"]


# The doctor's page (accounts) shows their hours and time off, read-only: scheduling adds
# them here, so accounts knows nothing of scheduling.
admin.site.unregister(Doctor)


@admin.register(Doctor)
class DoctorWithAvailabilityAdmin(DoctorAdmin):
    inlines = [AvailabilityRuleInline, AvailabilityExceptionInline]


@admin.register(Hold)
class HoldAdmin(AuditedModelAdmin):
    """Slots kept for a patient for a few minutes (a portal's hold or a waitlist offer).
    Seen, and released through `hold_release` (the slot is free again at once)."""

    view_roles = STAFF_ROLES
    list_display = ["created_at", "doctor", "patient_name", "start", "expires_at", "status"]
    list_filter = ["status", ("doctor", DoctorFilter)]
    search_fields = ["patient__user__first_name", "patient__user__last_name", "patient__user__email"]
    list_select_related = ["doctor__user", "patient__user"]
    ordering = ["-created_at", "-id"]
    exclude = ["slot", "slot_status"]
    actions = ["release"]

    @admin.display(description="Patient", ordering="patient__user__last_name")
    def patient_name(self, hold: Hold) -> str:
        return hold.patient.user.full_name or hold.patient.user.email

    def has_desk_permission(self, request: HttpRequest) -> bool:
        return has_role(request, STAFF_ROLES)

    @admin.action(description="Release the selected holds (their slots are free again)", permissions=["desk"])
    def release(self, request: HttpRequest, queryset: QuerySet[Hold]) -> None:
        for hold in queryset:
            services.hold_release(actor=request_user(request), hold=hold)
        messages.success(request, f"{len(queryset)} hold(s) released.")
