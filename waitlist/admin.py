"""The waitlist in the back office: reception sees the line, adds patients, takes them off.

Entries are added through `entry_join` and cancelled through `entry_cancel` (which gives
up an open offer, so its slot passes on); offers are shown, never edited. The trail is
written by AuditedModelAdmin.
"""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from accounts.admin import DoctorFilter
from accounts.authentication import request_user
from audit.backoffice import AuditedModelAdmin, ReadOnlyInline, has_role
from core.roles import STAFF_ROLES
from waitlist import services
from waitlist.models import Offer, WaitlistEntry

_ENTRY_FIELDS = ("doctor", "patient", "first_day", "last_day", "earliest_time", "latest_time")


class OfferInline(ReadOnlyInline):
    model = Offer
    fields = ("start", "expires_at", "status", "created_at", "ended_at")
    readonly_fields = ("start", "expires_at", "status", "created_at", "ended_at")
    ordering = ["-created_at"]


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(AuditedModelAdmin):
    view_roles = STAFF_ROLES
    add_roles = STAFF_ROLES
    list_display = ["created_at", "doctor", "patient_name", "first_day", "last_day", "window", "status"]
    list_filter = ["status", ("doctor", DoctorFilter)]
    search_fields = ["patient__user__first_name", "patient__user__last_name", "patient__user__email"]
    list_select_related = ["doctor__user", "patient__user"]
    ordering = ["created_at", "id"]
    fields = _ENTRY_FIELDS
    raw_id_fields = ["patient"]
    inlines = [OfferInline]
    actions = ["cancel"]

    @admin.display(description="Patient", ordering="patient__user__last_name")
    def patient_name(self, entry: WaitlistEntry) -> str:
        return entry.patient.user.full_name or entry.patient.user.email

    @admin.display(description="Time of day")
    def window(self, entry: WaitlistEntry) -> str:
        earliest = f"{entry.earliest_time:%H:%M}" if entry.earliest_time else "any time"
        latest = f"{entry.latest_time:%H:%M}" if entry.latest_time else "close"
        return f"{earliest} to {latest}"

    def get_inlines(self, request: HttpRequest, obj: WaitlistEntry | None = None) -> list:
        # A new entry has no offers yet.
        return self.inlines if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: WaitlistEntry | None = None) -> tuple[str, ...]:
        # An entry is added, then only cancelled (nobody may change one): its page shows
        # where it stands.
        return (*_ENTRY_FIELDS, "status", "appointment") if obj is not None else _ENTRY_FIELDS

    def has_desk_permission(self, request: HttpRequest) -> bool:
        return has_role(request, STAFF_ROLES)

    def save_model(self, request: HttpRequest, obj: WaitlistEntry, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        entry = services.entry_join(
            actor=request_user(request),
            doctor=data["doctor"],
            patient=data["patient"],
            first_day=data["first_day"],
            last_day=data["last_day"],
            earliest_time=data.get("earliest_time"),
            latest_time=data.get("latest_time"),
        )
        obj.pk = entry.pk
        obj.refresh_from_db()

    @admin.action(description="Take the selected patients off the waitlist", permissions=["desk"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[WaitlistEntry]) -> None:
        for entry in queryset:
            services.entry_cancel(actor=request_user(request), entry=entry)
        messages.success(request, f"{len(queryset)} waitlist entr{'y' if len(queryset) == 1 else 'ies'} cancelled.")
