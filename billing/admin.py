"""Billing in the back office: payments and invoices to look up, doctors' fees to set.

Payments, refunds and invoices are written only by billing.services (gateways,
idempotency, gapless numbering); here they are read-only. Refunds are made through
POST /api/payments/{id}/refund/, where the gateway call happens outside any transaction.
A doctor's fee is set through `doctor_fee_set`. The trail is written by AuditedModelAdmin.
"""

from typing import Any

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from accounts.authentication import request_user
from audit.backoffice import AuditedModelAdmin, ReadOnlyInline
from billing import services
from billing.models import DoctorFee, Invoice, InvoiceItem, Payment, Refund
from core.roles import STAFF_ROLES


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = readonly_fields = ("created_at", "amount", "status", "reason", "created_by", "settled_at")


@admin.register(Payment)
class PaymentAdmin(AuditedModelAdmin):
    view_roles = STAFF_ROLES
    list_display = ["id", "created_at", "appointment", "payer", "method", "amount", "currency", "status"]
    list_filter = ["status", "method", "currency"]
    search_fields = ["payer__email", "appointment__patient__user__last_name", "gateway_reference"]
    list_select_related = ["payer", "appointment__doctor__user"]
    date_hierarchy = "created_at"
    exclude = ["client_secret", "request_fingerprint"]
    inlines = [RefundInline]


class InvoiceItemInline(ReadOnlyInline):
    model = InvoiceItem
    fields = readonly_fields = ("position", "description", "quantity", "unit_price", "total")


@admin.register(Invoice)
class InvoiceAdmin(AuditedModelAdmin):
    view_roles = STAFF_ROLES
    list_display = ["number", "issued_at", "patient", "total", "currency", "status", "paid_at"]
    list_filter = ["status", "currency", "year"]
    search_fields = ["number", "patient__user__last_name", "patient__user__email"]
    list_select_related = ["patient__user"]
    date_hierarchy = "issued_at"
    inlines = [InvoiceItemInline]


@admin.register(DoctorFee)
class DoctorFeeAdmin(AuditedModelAdmin):
    """A doctor's own consultation fee (doctors without one charge the clinic default)."""

    add_roles = STAFF_ROLES
    change_roles = STAFF_ROLES
    list_display = ["doctor", "consultation_fee", "currency", "updated_at"]
    list_filter = ["currency"]
    search_fields = ["doctor__user__last_name", "doctor__specialization"]
    list_select_related = ["doctor__user"]
    fields = ["doctor", "consultation_fee", "currency", "updated_at"]
    readonly_fields = ["updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: DoctorFee | None = None) -> Any:
        return [*self.readonly_fields, "doctor"] if obj is not None else self.readonly_fields

    def save_model(self, request: HttpRequest, obj: DoctorFee, form: ModelForm, change: bool) -> None:
        fee = services.doctor_fee_set(
            actor=request_user(request),
            doctor=obj.doctor,
            consultation_fee=form.cleaned_data["consultation_fee"],
            currency=form.cleaned_data["currency"],
        )
        obj.pk = fee.pk
        obj.refresh_from_db()
