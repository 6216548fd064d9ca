"""Billing endpoints (contract §7). Thin: parse, call a service or selector, serialize."""

import json
import logging
from collections.abc import Iterable
from typing import Any

import stripe
from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.generics import GenericAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import request_user
from accounts.selectors import doctor_get_for_admin
from billing import selectors, services
from billing.pdf import invoice_pdf
from billing.serializers import (
    ChargeInput,
    ChargeOutputSerializer,
    DoctorFeeInput,
    DoctorFeeSerializer,
    InvoiceGenerateInput,
    InvoiceSerializer,
    PaymentSerializer,
    RefundInput,
    RefundSerializer,
)
from core.exceptions import ValidationFailed
from core.inputs import validated
from core.permissions import IsDoctorStaffOrAdmin, IsPatientStaffOrAdmin, IsStaffOrAdmin

logger = logging.getLogger(__name__)


class PaymentChargeApi(GenericAPIView):
    permission_classes = [IsPatientStaffOrAdmin]

    @extend_schema(
        request=ChargeInput,
        responses={
            201: ChargeOutputSerializer,
            404: OpenApiResponse(description="No such appointment, or not yours."),
            409: OpenApiResponse(description="`idempotency_key_reused`, `already_paid` or `not_payable`."),
            502: OpenApiResponse(description="`payment_gateway_unavailable`: retry with the same idempotency_key."),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(ChargeInput, request.data)
        outcome = services.payment_charge(
            actor=request_user(request),
            appointment_id=data["appointment"],
            method=data["method"],
            amount=data.get("amount"),
            idempotency_key=data["idempotency_key"],
        )
        # A replay answers exactly as the first request did, and says it is a replay.
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else {}
        return Response(ChargeOutputSerializer(outcome.payment).data, status=status.HTTP_201_CREATED, headers=headers)


class PaymentHistoryApi(GenericAPIView):
    serializer_class = PaymentSerializer

    @extend_schema(responses=PaymentSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.payment_list(actor=request_user(request)))
        return self.get_paginated_response(PaymentSerializer(page, many=True).data)


class PaymentDetailApi(GenericAPIView):
    permission_classes = [IsPatientStaffOrAdmin]

    @extend_schema(responses=PaymentSerializer)
    def get(self, request: Request, payment_id: int) -> Response:
        return Response(
            PaymentSerializer(selectors.payment_get(actor=request_user(request), payment_id=payment_id)).data
        )


class PaymentRefundApi(GenericAPIView):
    permission_classes = [IsStaffOrAdmin]

    @extend_schema(
        request=RefundInput,
        responses={
            201: RefundSerializer,
            409: OpenApiResponse(description="`payment_not_refundable`: not settled, or refunded in full."),
            502: OpenApiResponse(
                description="`payment_gateway_unavailable`: the outcome is unknown; the refund stays pending "
                "and the next refund request for this payment settles it from the provider first."
            ),
        },
    )
    def post(self, request: Request, payment_id: int) -> Response:
        data = validated(RefundInput, request.data)
        refund = services.payment_refund(
            actor=request_user(request), payment_id=payment_id, amount=data.get("amount"), reason=data["reason"]
        )
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class PaymentCancelApi(GenericAPIView):
    permission_classes = [IsStaffOrAdmin]

    @extend_schema(
        request=None,
        responses={
            200: PaymentSerializer,
            404: OpenApiResponse(description="No such payment."),
            409: OpenApiResponse(description="`payment_not_cancellable`: not pending, or confirmed by the payer."),
            502: OpenApiResponse(description="`payment_gateway_unavailable`: nothing was cancelled; retry."),
        },
    )
    def post(self, request: Request, payment_id: int) -> Response:
        """Cancel a card payment the payer never confirmed, so the desk can take cash or insurance."""
        payment = services.payment_cancel(actor=request_user(request), payment_id=payment_id)
        return Response(PaymentSerializer(payment).data)


class InvoiceGenerateApi(GenericAPIView):
    permission_classes = [IsDoctorStaffOrAdmin]

    @extend_schema(
        request=InvoiceGenerateInput,
        responses={
            201: InvoiceSerializer,
            200: OpenApiResponse(InvoiceSerializer, description="The appointment's existing invoice."),
            404: OpenApiResponse(description="No such appointment, or not yours."),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(InvoiceGenerateInput, request.data)
        invoice, created = services.invoice_generate(actor=request_user(request), appointment_id=data["appointment"])
        return Response(
            InvoiceSerializer(invoice).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class PDFRenderer(BaseRenderer):
    """Passes through PDF bytes the view made; chosen by `?format=pdf` or `Accept: application/pdf`."""

    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return data


class StrictFormatNegotiation(DefaultContentNegotiation):
    """An unknown `?format=` is 406 not_acceptable, not DRF's bare 404."""

    def filter_renderers(self, renderers: Iterable[BaseRenderer], format: str) -> list[BaseRenderer]:
        chosen = [renderer for renderer in renderers if renderer.format == format]
        if not chosen:
            raise exceptions.NotAcceptable(f"Unknown format {format!r}: use json or pdf.")
        return chosen


class InvoiceListApi(GenericAPIView):
    """The caller's invoices (added to the contract): a patient's own; staff and admin: all."""

    permission_classes = [IsPatientStaffOrAdmin]
    serializer_class = InvoiceSerializer

    @extend_schema(responses=InvoiceSerializer(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(selectors.invoice_list(actor=request_user(request)))
        return self.get_paginated_response(InvoiceSerializer(page, many=True).data)


class InvoiceDetailApi(GenericAPIView):
    permission_classes = [IsPatientStaffOrAdmin]
    # `?format=` is DRF's renderer override (URL_FORMAT_OVERRIDE): json and pdf are the two.
    renderer_classes = [JSONRenderer, PDFRenderer]
    content_negotiation_class = StrictFormatNegotiation

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["json", "pdf"], description="pdf: the printable invoice")],
        responses={
            (200, "application/json"): InvoiceSerializer,
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The invoice as a PDF."),
            406: OpenApiResponse(description="`?format=` is neither json nor pdf."),
        },
    )
    def get(self, request: Request, invoice_id: int) -> Response:
        invoice = selectors.invoice_get(actor=request_user(request), invoice_id=invoice_id)
        if request.accepted_renderer.format == "pdf":
            return Response(
                invoice_pdf(invoice),
                content_type="application/pdf",
                headers={"Content-Disposition": f'inline; filename="{invoice.number}.pdf"'},
            )
        return Response(InvoiceSerializer(invoice).data)

    def handle_exception(self, exc: Exception) -> Response:
        # Errors are JSON bodies (contract §1) even when a PDF was asked for.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)


class DoctorFeeApi(GenericAPIView):
    permission_classes = [IsStaffOrAdmin]

    @extend_schema(request=DoctorFeeInput, responses={200: DoctorFeeSerializer})
    def put(self, request: Request, doctor_id: int) -> Response:
        data = validated(DoctorFeeInput, request.data)
        doctor = doctor_get_for_admin(doctor_id=doctor_id)
        fee = services.doctor_fee_set(actor=request_user(request), doctor=doctor, **data)
        return Response(DoctorFeeSerializer(fee).data)


class StripeWebhookApi(GenericAPIView):
    """Stripe's signed event callback: the only word on whether a card payment went through."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=None,
        responses={
            200: OpenApiResponse(description="Received (also for events that are not ours or already handled)."),
            400: OpenApiResponse(description="`invalid_signature`, `invalid_event` or `webhook_not_configured`."),
        },
    )
    def post(self, request: Request) -> Response:
        if not settings.STRIPE_WEBHOOK_SECRET:
            raise ValidationFailed("Stripe webhooks are not configured.", code="webhook_not_configured")
        payload = request.body
        try:
            event = stripe.Webhook.construct_event(
                payload, request.headers.get("Stripe-Signature", ""), settings.STRIPE_WEBHOOK_SECRET
            )
        except (ValueError, stripe.SignatureVerificationError) as exc:
            logger.warning("stripe webhook refused: %s", exc)
            raise ValidationFailed("The Stripe signature or payload is invalid.", code="invalid_signature") from exc
        if not event.get("id") or not event.get("type"):
            raise ValidationFailed("The event has no id or type.", code="invalid_event")
        # The verified payload, as plain JSON (the SDK's objects change shape between versions).
        data = json.loads(payload)
        handled = services.stripe_event_handle(
            event_id=data["id"], event_type=data["type"], obj=(data.get("data") or {}).get("object") or {}
        )
        return Response({"received": True, "handled": handled})
