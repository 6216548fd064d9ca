"""Rounding: half-up to the currency's minor unit, and totals that always add up."""

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.money import minor_unit, round_money, tax_on, to_minor_units
from billing.selectors import quote_build


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.345", "EUR", "2.35"),
        ("2.344999", "EUR", "2.34"),
        ("0.005", "USD", "0.01"),
        ("0.004", "USD", "0.00"),
        ("-2.345", "EUR", "-2.35"),
        ("1.5", "JPY", "2"),
        ("2.5", "JPY", "3"),  # half-up, not banker's rounding
        ("999999999.995", "EUR", "1000000000.00"),
    ],
)
def test_round_half_up(amount, currency, expected):
    assert round_money(Decimal(amount), currency) == Decimal(expected)


@pytest.mark.parametrize(
    ("subtotal", "rate", "tax"),
    [
        ("33.33", "7.5", "2.50"),  # 2.49975
        ("10.00", "8.875", "0.89"),  # 0.8875
        ("0.01", "50", "0.01"),  # 0.005
        ("0.01", "49.99", "0.00"),
        ("19.99", "19", "3.80"),  # 3.7981
        ("100.00", "0", "0.00"),
        ("1234.56", "7.7", "95.06"),
    ],
)
def test_tax_awkward_rates(subtotal, rate, tax):
    assert tax_on(Decimal(subtotal), Decimal(rate), "EUR") == Decimal(tax)


def test_minor_units():
    assert minor_unit("EUR") == Decimal("0.01")
    assert minor_unit("JPY") == Decimal("1")
    assert to_minor_units(Decimal("12.34"), "EUR") == 1234
    assert to_minor_units(Decimal("500"), "JPY") == 500
    with pytest.raises(ValueError, match="not exact"):
        to_minor_units(Decimal("1.005"), "EUR")


amounts = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999.9999"), places=4, allow_nan=False)
rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("30"), places=3, allow_nan=False)
lines = st.lists(st.tuples(st.just("item"), st.integers(1, 50), amounts), min_size=1, max_size=6)


# The machine is shared: slow draws are the neighbours' fault, not a strategy's.
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=lines, rate=rates, currency=st.sampled_from(["EUR", "USD", "JPY"]))
def test_totals_are_items_plus_tax(lines, rate, currency):
    quote = quote_build(currency=currency, lines=lines, tax_rate=rate)
    unit = minor_unit(currency)
    assert quote.subtotal == sum(item.total for item in quote.items)
    assert quote.total == quote.subtotal + quote.tax
    for item in quote.items:
        assert item.total == item.unit_price * item.quantity
        assert round_money(item.unit_price, currency) == item.unit_price
    for amount in (quote.subtotal, quote.tax, quote.total):
        assert amount % unit == 0
    # The tax is the exact tax rounded once: never more than half a minor unit away.
    assert abs(quote.tax - quote.subtotal * rate / 100) <= unit / 2
