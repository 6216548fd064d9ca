"""Every write to billing: fees, charges, refunds, invoices and the Stripe webhook.

Two rules keep money right under concurrency:
- every write about one appointment's money first locks that appointment's row, so a
  balance is read and spent by one transaction at a time;
- no lock is held across the network: a card charge or refund is recorded (pending) and
  committed, the gateway is called, and its answer is recorded in a second transaction.

The package: `lifecycle` (the status tables and moves), `fees`, `payments`, `refunds`,
`invoices`, `stripe_events`; import every service from here.
"""

from billing.services.fees import doctor_fee_set
from billing.services.invoices import invoice_generate, invoice_number
from billing.services.lifecycle import INVOICE_TRANSITIONS, NOT_PAYABLE, PAYMENT_TRANSITIONS, IllegalTransition
from billing.services.payments import ChargeOutcome, card_payments_expire, payment_cancel, payment_charge
from billing.services.refunds import payment_refund
from billing.services.stripe_events import stripe_event_handle

__all__ = [
    "INVOICE_TRANSITIONS",
    "NOT_PAYABLE",
    "PAYMENT_TRANSITIONS",
    "ChargeOutcome",
    "IllegalTransition",
    "card_payments_expire",
    "doctor_fee_set",
    "invoice_generate",
    "invoice_number",
    "payment_cancel",
    "payment_charge",
    "payment_refund",
    "stripe_event_handle",
]
