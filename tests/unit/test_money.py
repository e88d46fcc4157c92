"""Money is exact: Decimal in, Decimal out, never a float, never a silent rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fintrack.money import Money, MoneyError, format_amount, parse_amount, validate_currency

cents = st.integers(min_value=-(10**15), max_value=10**15)


def test_parse_keeps_exact_decimal():
    assert parse_amount("0.10", "BRL") + parse_amount("0.20", "BRL") == Decimal("0.30")


@pytest.mark.parametrize("bad", ["1,50", "1e3", "NaN", "Infinity", "", " ", "--1", "1.2.3", "R$ 10", "0x10"])
def test_malformed_amounts_are_refused_with_the_value_named(bad):
    with pytest.raises(MoneyError, match="amount"):
        parse_amount(bad, "BRL")


def test_json_numbers_are_refused():
    with pytest.raises(MoneyError, match="not a JSON number"):
        parse_amount(12.5, "BRL")


def test_more_decimals_than_the_currency_has_is_an_error():
    with pytest.raises(MoneyError, match="more than 2 decimal places for BRL"):
        parse_amount("1.005", "BRL")
    with pytest.raises(MoneyError, match="more than 0 decimal places for JPY"):
        parse_amount("1.5", "JPY")
    assert parse_amount("1.500", "BRL") == Decimal("1.50")


def test_too_large_amounts_are_refused():
    with pytest.raises(MoneyError, match="too large"):
        parse_amount("1" + "0" * 14, "BRL")


@pytest.mark.parametrize("code", ["brl", "XXX1", "ZZZ", "", "BR"])
def test_unknown_currencies_are_refused(code):
    with pytest.raises(MoneyError, match="unknown currency"):
        validate_currency(code)


@given(cents)
def test_format_then_parse_round_trips(c):
    value = Decimal(c).scaleb(-2)
    assert parse_amount(format_amount(value, "BRL"), "BRL") == value


@given(st.lists(cents, min_size=1, max_size=50))
def test_sums_are_associative_and_exact(parts):
    monies = [Money(Decimal(c).scaleb(-2), "BRL") for c in parts]
    forward = monies[0]
    for m in monies[1:]:
        forward = forward + m
    backward = monies[-1]
    for m in reversed(monies[:-1]):
        backward = m + backward
    assert forward == backward
    assert forward.amount == sum(Decimal(c) for c in parts).scaleb(-2)


@given(cents, cents)
def test_subtraction_undoes_addition(a, b):
    x, y = Money(Decimal(a).scaleb(-2), "BRL"), Money(Decimal(b).scaleb(-2), "BRL")
    assert (x + y) - y == x
    negated = -x
    assert -negated == x


def test_currencies_never_mix():
    with pytest.raises(MoneyError, match="cannot combine BRL with USD"):
        Money(Decimal(1), "BRL") + Money(Decimal(1), "USD")


@given(st.integers(-(10**12), 10**12), st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(1000), places=4))
def test_conversion_rounds_to_the_target_minor_unit(c, rate):
    converted = Money(Decimal(c).scaleb(-2), "USD").convert(rate, "BRL")
    assert converted.amount.as_tuple().exponent == -2
    assert abs(converted.amount - Decimal(c).scaleb(-2) * rate) <= Decimal("0.005")
