"""The payment gateway seam: how money is taken and given back, per payment method.

`cash` and `insurance` are taken at the desk: the staff member recording them is the
gateway, so they settle at once. `card` goes through Stripe when STRIPE_SECRET_KEY is
set; without a key there is no card gateway and card payments are refused.

Gateways never touch the database: services call them outside any transaction (no row
lock is held across the network) and record what they answer.
"""

import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

import stripe
from django.conf import settings

from billing.money import to_minor_units
from core.exceptions import DomainError, ValidationFailed

logger = logging.getLogger(__name__)


class GatewayUnavailable(DomainError):
    """The gateway could not be reached; the same request may be retried safely."""

    status_code = 502
    code = "payment_gateway_unavailable"
    default_detail = "The payment provider could not be reached. Retry with the same idempotency_key."


@dataclass(frozen=True)
class GatewayResult:
    """What the gateway says about a charge or refund: `status` is pending, succeeded or failed."""

    status: str
    reference: str = ""
    client_secret: str = ""
    failure_reason: str = ""


@dataclass(frozen=True)
class ChargeRequest:
    payment_id: int
    amount: Decimal
    currency: str
    idempotency_key: str
    description: str
    metadata: dict[str, str]


@dataclass(frozen=True)
class RefundRequest:
    refund_id: int
    amount: Decimal
    currency: str
    payment_reference: str


class PaymentGateway(Protocol):
    name: str
    settles_at_once: bool

    def charge(self, request: ChargeRequest) -> GatewayResult: ...

    def refund(self, request: RefundRequest) -> GatewayResult: ...

    def refund_lookup(self, request: RefundRequest) -> GatewayResult | None:
        """What became of a refund whose answer never arrived; None if the gateway has no such refund."""
        ...

    def cancel(self, reference: str) -> GatewayResult:
        """Cancel an unconfirmed charge; answers the charge's status if it can no longer be cancelled."""
        ...


class DeskGateway:
    """Cash and insurance: recorded by staff at the desk, settled the moment they are recorded."""

    name = "desk"
    settles_at_once = True

    def charge(self, request: ChargeRequest) -> GatewayResult:
        return GatewayResult(status="succeeded", reference=f"desk-payment-{request.payment_id}")

    def refund(self, request: RefundRequest) -> GatewayResult:
        return GatewayResult(status="succeeded", reference=f"desk-refund-{request.refund_id}")

    def refund_lookup(self, request: RefundRequest) -> GatewayResult | None:
        # Desk refunds settle in the transaction that records them: never unknown.
        return None

    def cancel(self, reference: str) -> GatewayResult:
        # Desk payments settle as they are recorded: nothing is ever waiting to be cancelled.
        return GatewayResult(status="failed", reference=reference)


class StripeGateway:
    """Card payments through Stripe PaymentIntents.

    The intent is created unconfirmed; the payer's device confirms it with the client
    secret, and Stripe's signed webhook tells us the outcome. Every call carries an
    idempotency key, so a retried request never creates a second intent or refund.
    """

    name = "stripe"
    settles_at_once = False

    def __init__(self, *, api_key: str, api_base: str = "") -> None:
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else {},
            http_client=stripe.new_default_http_client(timeout=20),
            # Safe to retry: every request carries an idempotency key.
            max_network_retries=2,
        )

    def charge(self, request: ChargeRequest) -> GatewayResult:
        try:
            intent = self.client.v1.payment_intents.create(
                params={
                    "amount": to_minor_units(request.amount, request.currency),
                    "currency": request.currency.lower(),
                    "description": request.description,
                    "metadata": request.metadata,
                    "automatic_payment_methods": {"enabled": True},
                },
                options={"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as exc:
            return self._refused_or_unavailable(exc, what=f"payment {request.payment_id}")
        return GatewayResult(
            status=_INTENT_STATUS.get(intent.status, "pending"),
            reference=intent.id,
            client_secret=intent.client_secret or "",
        )

    def refund(self, request: RefundRequest) -> GatewayResult:
        try:
            refund = self.client.v1.refunds.create(
                params={
                    "payment_intent": request.payment_reference,
                    "amount": to_minor_units(request.amount, request.currency),
                    "metadata": {"refund_id": str(request.refund_id)},
                },
                options={"idempotency_key": f"clinic-refund-{request.refund_id}"},
            )
        except stripe.StripeError as exc:
            return self._refused_or_unavailable(exc, what=f"refund {request.refund_id}")
        return GatewayResult(status=_REFUND_STATUS.get(refund.status or "", "pending"), reference=refund.id)

    def refund_lookup(self, request: RefundRequest) -> GatewayResult | None:
        # Found by our own id in its metadata, not by the idempotency key: Stripe forgets
        # keys after 24 hours, and resending after that would refund a second time.
        try:
            found = self.client.v1.refunds.list(params={"payment_intent": request.payment_reference, "limit": 100})
        except stripe.StripeError as exc:
            logger.warning("stripe unreachable while looking up refund %s: %s", request.refund_id, exc)
            raise GatewayUnavailable() from exc
        for refund in found.auto_paging_iter():
            if (refund.metadata or {}).get("refund_id") == str(request.refund_id):
                return GatewayResult(status=_REFUND_STATUS.get(refund.status or "", "pending"), reference=refund.id)
        return None

    def cancel(self, reference: str) -> GatewayResult:
        try:
            intent = self.client.v1.payment_intents.cancel(reference)
        except stripe.InvalidRequestError as exc:
            # Confirmed (or cancelled) meanwhile: Stripe's own status decides, not ours.
            logger.info("stripe would not cancel %s: %s", reference, exc.user_message or exc)
            try:
                intent = self.client.v1.payment_intents.retrieve(reference)
            except stripe.StripeError as retrieve_exc:
                return self._refused_or_unavailable(retrieve_exc, what=f"intent {reference}")
        except stripe.StripeError as exc:
            return self._refused_or_unavailable(exc, what=f"intent {reference}")
        return GatewayResult(status=_INTENT_STATUS.get(intent.status, "pending"), reference=intent.id)

    def _refused_or_unavailable(self, exc: stripe.StripeError, *, what: str) -> GatewayResult:
        # A refusal (bad card, invalid request) is final; a network or server error is
        # not, and the caller may retry with the same idempotency key.
        if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError) or (exc.http_status or 500) >= 500:
            logger.warning("stripe unreachable for %s: %s", what, exc)
            raise GatewayUnavailable() from exc
        logger.info("stripe refused %s: %s", what, exc.user_message or exc)
        return GatewayResult(status="failed", failure_reason=str(exc.user_message or exc.code or "refused")[:255])


# Stripe's PaymentIntent statuses, mapped to ours; the rest (requires_payment_method,
# requires_confirmation, requires_action, processing) wait for the webhook.
_INTENT_STATUS = {"succeeded": "succeeded", "canceled": "failed"}
_REFUND_STATUS = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}


def card_payments_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def gateway_for(method: str) -> PaymentGateway:
    """The gateway that takes payments of `method`; card needs a Stripe key."""
    if method != "card":
        return DeskGateway()
    if not card_payments_enabled():
        raise ValidationFailed(
            "Card payments are not available: no payment provider is configured.",
            code="card_payments_unavailable",
            fields={"method": ["Card payments are not available."]},
        )
    return StripeGateway(api_key=settings.STRIPE_SECRET_KEY, api_base=settings.STRIPE_API_BASE)
