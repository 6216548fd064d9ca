"""Money arithmetic: `Decimal` only, rounded half-up to the currency's minor unit.

Floats never touch an amount. Every amount the clinic computes (a line total, the tax)
is rounded once, here; amounts a client sends must already be exact in the currency.
"""

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units of the currencies the clinic may bill in.
MINOR_UNITS: dict[str, int] = {"EUR": 2, "USD": 2, "GBP": 2, "CHF": 2, "JPY": 0}
CURRENCIES = tuple(MINOR_UNITS)
_HUNDRED = Decimal(100)


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of `currency`: Decimal("0.01") for EUR, Decimal("1") for JPY."""
    return Decimal(1).scaleb(-MINOR_UNITS[currency])


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (2.345 EUR → 2.35, 2.344 EUR → 2.34)."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def is_exact(amount: Decimal, currency: str) -> bool:
    """True when `amount` needs no rounding in `currency` (no fraction of a cent)."""
    return round_money(amount, currency) == amount


def tax_on(subtotal: Decimal, rate_percent: Decimal, currency: str) -> Decimal:
    """The tax on `subtotal` at `rate_percent` (7.7 means 7.7 %), rounded once, half-up."""
    return round_money(subtotal * rate_percent / _HUNDRED, currency)


def to_minor_units(amount: Decimal, currency: str) -> int:
    """An exact amount as the integer Stripe expects (12.34 EUR → 1234, 500 JPY → 500)."""
    scaled = amount.scaleb(MINOR_UNITS[currency])
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} is not exact in {currency}")
    return int(scaled)
