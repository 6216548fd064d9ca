from decimal import Decimal
from typing import Any

from rest_framework import serializers

from billing.models import CURRENCY_CHOICES, DoctorFee, Invoice, InvoiceItem, Payment, PaymentMethod, Refund
from core.serializers import ModelSerializer


class PaymentSerializer(ModelSerializer):
    """Payment (contract §7), plus what was refunded of it."""

    class Meta:
        model = Payment
        fields = ["id", "appointment", "amount", "currency", "method", "status", "refunded_amount", "created_at"]
        read_only_fields = fields


class ChargeOutputSerializer(PaymentSerializer):
    """A new or replayed charge; card payments carry Stripe's client secret for the payer's device."""

    client_secret = serializers.CharField(allow_blank=True)

    class Meta(PaymentSerializer.Meta):
        fields = [*PaymentSerializer.Meta.fields, "client_secret"]
        read_only_fields = fields


class RefundSerializer(ModelSerializer):
    payment = PaymentSerializer(read_only=True)

    class Meta:
        model = Refund
        fields = ["id", "payment", "amount", "status", "reason", "created_at"]
        read_only_fields = fields


class InvoiceItemSerializer(ModelSerializer):
    class Meta:
        model = InvoiceItem
        fields = ["description", "quantity", "unit_price", "total"]
        read_only_fields = fields


class InvoiceSerializer(ModelSerializer):
    """Invoice (contract §7); `patient` is the Patient profile id."""

    items = InvoiceItemSerializer(many=True, read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "appointment",
            "patient",
            "items",
            "subtotal",
            "tax",
            "total",
            "currency",
            "status",
            "issued_at",
        ]
        read_only_fields = fields


class DoctorFeeSerializer(ModelSerializer):
    class Meta:
        model = DoctorFee
        fields = ["doctor", "consultation_fee", "currency"]
        read_only_fields = fields


# --- Input ------------------------------------------------------------------------------

_AMOUNT: dict[str, Any] = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0.01"), "required": False}


class ChargeInput(serializers.Serializer):
    appointment = serializers.IntegerField(min_value=1)
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    amount = serializers.DecimalField(**_AMOUNT)
    idempotency_key = serializers.RegexField(
        r"^[A-Za-z0-9._:-]+$",
        max_length=128,
        error_messages={"invalid": "Use 1 to 128 letters, digits and . _ : - only."},
    )


class RefundInput(serializers.Serializer):
    amount = serializers.DecimalField(**_AMOUNT)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class InvoiceGenerateInput(serializers.Serializer):
    appointment = serializers.IntegerField(min_value=1)


class DoctorFeeInput(serializers.Serializer):
    consultation_fee = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0"))
    currency = serializers.ChoiceField(choices=CURRENCY_CHOICES)
