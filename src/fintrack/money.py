"""Money as Decimal plus an ISO 4217 currency; never float."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import get_currency_precision, list_currencies

from fintrack.errors import Said, mark

# Up to 14 integer digits: NUMERIC(20, 6) in the database leaves room for that and any currency's minor units.
MAX_INTEGER_DIGITS = 14
_AMOUNT = re.compile(r"^[+-]?\d+(\.\d+)?$")


class MoneyError(Said, ValueError):
    """An amount or currency that cannot be money. Its message is a template, so the domain error that wraps it
    (`InvalidMoney(problem.template, values=problem.values)`) can be translated on a page."""

    def __init__(self, template: str, **values: object) -> None:
        super().__init__(self._say(template, values))


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def validate_currency(code: str) -> str:
    if not isinstance(code, str) or code.upper() != code or code not in _currencies():
        raise MoneyError(mark("unknown currency {code!r}: use an ISO 4217 code such as BRL, USD or EUR"), code=code)
    return code


@lru_cache(maxsize=512)
def minor_units(currency: str) -> int:
    return int(get_currency_precision(currency))


def parse_amount(text: object, currency: str) -> Decimal:
    """Parse a decimal string exactly; refuse floats, exponents and more decimals than the currency has."""
    if not isinstance(text, str):
        raise MoneyError(mark('amount must be a decimal string such as "-12.34", not a JSON number'))
    stripped = text.strip()
    if not _AMOUNT.match(stripped):
        raise MoneyError(
            mark('amount {text!r} is not a decimal string such as "-12.34" (use a dot for decimals)'), text=text
        )
    try:
        value = Decimal(stripped)
    except InvalidOperation as exc:  # pragma: no cover - the regex already rules this out
        raise MoneyError(mark("amount {text!r} is not a number"), text=text) from exc
    return check_amount(value, currency)


def check_amount(value: Decimal, currency: str) -> Decimal:
    if not value.is_finite():
        raise MoneyError(mark("amount must be finite"))
    places = minor_units(currency)
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if -exponent > places and value != value.quantize(Decimal(1).scaleb(-places)):
        raise MoneyError(
            mark("amount {value} has more than {places} decimal places for {currency}"),
            value=value,
            places=places,
            currency=currency,
        )
    if value.adjusted() >= MAX_INTEGER_DIGITS:
        raise MoneyError(
            mark("amount {value} is too large (at most {digits} integer digits)"),
            value=value,
            digits=MAX_INTEGER_DIGITS,
        )
    if exponent == -places:
        return value  # already in minor units, as nearly every statement writes it: quantizing would copy it
    return quantize(value, currency)


def quantize(value: Decimal, currency: str) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_EVEN)


def format_amount(value: Decimal, currency: str) -> str:
    """The API's string form: always the currency's minor units, never an exponent."""
    return f"{quantize(value, currency):f}"


@dataclass(frozen=True, slots=True)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        validate_currency(self.currency)
        object.__setattr__(self, "amount", check_amount(Decimal(self.amount), self.currency))

    @classmethod
    def parse(cls, text: object, currency: str) -> Money:
        return cls(parse_amount(text, validate_currency(currency)), currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(mark("cannot combine {mine} with {theirs}"), mine=self.currency, theirs=other.currency)

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def convert(self, rate: Decimal, currency: str) -> Money:
        """Convert at `rate` units of `currency` per unit of this money, rounding half-even."""
        return Money(quantize(self.amount * rate, currency), currency)

    def __str__(self) -> str:
        return f"{format_amount(self.amount, self.currency)} {self.currency}"
