"""Clinic settings billing owns: the default fee, the currency and the tax rate."""

from clinic.registry import SettingSpec, register

DEFAULT_CONSULTATION_FEE = register(
    SettingSpec(
        key="default_consultation_fee",
        type="decimal",
        default="50.00",
        help="Consultation fee for doctors without a fee of their own, in the clinic currency.",
    )
)
CURRENCY = register(
    SettingSpec(
        key="currency",
        type="str",
        default="EUR",
        help="Clinic currency (ISO 4217 code: EUR, USD, GBP, CHF or JPY), used where a doctor has no fee of their own.",
        public=True,
    )
)
TAX_RATE = register(
    SettingSpec(
        key="tax_rate",
        type="decimal",
        default="0.00",
        help="Tax added to every invoice, in percent of the subtotal (7.70 means 7.7 %).",
    )
)
INVOICE_ISSUER = register(
    SettingSpec(
        key="invoice_issuer",
        type="str",
        default="Clinic",
        help="The clinic's name as printed at the top of every invoice.",
        public=True,
    )
)
CARD_PAYMENT_EXPIRY_MINUTES = register(
    SettingSpec(
        key="card_payment_expiry_minutes",
        type="int",
        default=60,
        help="Minutes a card payment may wait for the payer to confirm it before it is cancelled "
        "at Stripe and no longer holds the appointment's balance (cash and insurance can then be taken).",
        min_value=5,
        max_value=7 * 24 * 60,
    )
)
