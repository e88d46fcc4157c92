"""Reading CSV cell values: dates and amounts, with the format decided across a whole column."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Literal

from fintrack.errors import mark

DateOrder = Literal["dmy", "mdy", "ymd"]
DecimalMark = Literal[",", "."]

_YMD = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?")
_XXY = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})(?:[ T].*)?")
_NUMBER = re.compile(r"[\d.,]*\d[\d.,]*")
_CURRENCY = re.compile(r"R\$|US\$|BRL|USD|EUR|[$€£]", re.IGNORECASE)
_PLAIN = re.compile(r"\s*(-?)(\d[\d.,]*)\s*")  # the usual cell, which needs none of _split_sign's work
_SUMMARY = re.compile(r"(saldo|s a l d o|total|totais|subtotal)\b")
# The minus signs spreadsheets and banks actually write.
_MINUSES = str.maketrans({"−": "-", "–": "-", "\u00a0": " ", "\u202f": " "})


def normalize(text: str) -> str:
    """Lowercase, accent-free, punctuation-free text, for matching headers and keywords."""
    text = text.replace("(R$)", " ").replace("R$", " ").replace("r$", " ")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c if c.isalnum() else " " for c in text if not unicodedata.combining(c))
    return " ".join(text.lower().split())


def is_summary(text: str) -> bool:
    """A balance or total line ("Saldo do dia", "S A L D O", "Total"), which is not a transaction."""
    return _SUMMARY.match(normalize(text)) is not None


def locale_date_order(locale: str) -> DateOrder:
    # The US (and bare "en") write month first; Brazil and nearly everyone else day first.
    return "mdy" if locale.replace("_", "-").lower() in {"en-us", "en", "en-ph"} else "dmy"


def locale_decimal(locale: str) -> DecimalMark:
    return "." if locale.lower().startswith(("en", "ja", "zh", "ko", "he", "th")) else ","


def decide_date_order(values: Iterable[str], locale: str) -> tuple[DateOrder, str | None]:
    """The day/month order of a column, and a question for the user when the column cannot tell."""
    day_first = month_first = False
    ambiguous: str | None = None
    seen_two_part = False
    for value in values:
        m = _XXY.fullmatch(value.strip())
        if m is None:
            continue
        seen_two_part = True
        a, b = int(m[1]), int(m[2])
        if a > 12 >= b:
            day_first = True
        elif b > 12 >= a:
            month_first = True
        elif a != b and ambiguous is None:
            ambiguous = value.strip()
        if day_first and month_first:
            break
    default = locale_date_order(locale)
    if not seen_two_part:
        return "ymd", None
    if day_first != month_first:
        return ("dmy" if day_first else "mdy"), None
    if day_first and month_first:
        return default, None  # both orders seen: the rows that do not fit become problems
    if ambiguous is None:
        return default, None  # every date reads the same both ways (01/01, 02/02...)
    # One sentence per order, so each translates whole.
    said = (
        mark(
            "Every date in the file reads both ways (e.g. {example}); assumed day/month (dd/mm/yyyy) "
            "from the locale {locale}. Choose the other order if the dates look wrong."
        )
        if default == "dmy"
        else mark(
            "Every date in the file reads both ways (e.g. {example}); assumed month/day (mm/dd/yyyy) "
            "from the locale {locale}. Choose the other order if the dates look wrong."
        )
    )
    return default, said.format(example=ambiguous, locale=locale)


def parse_date(value: str, order: DateOrder) -> dt.date | None:
    value = value.strip()
    m = _YMD.fullmatch(value)
    try:
        if m is not None:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        m = _XXY.fullmatch(value)
        if m is None or order == "ymd":
            return None
        a, b, year = int(m[1]), int(m[2]), int(m[3])
        if len(m[3]) == 2:
            year += 2000 if year < 70 else 1900
        day, month = (a, b) if order == "dmy" else (b, a)
        return dt.date(year, month, day)
    except ValueError:
        return None


def _split_sign(value: str) -> tuple[bool, str] | None:
    """(negative, bare number) from a cell such as "-R$ 1.234,56", "(12,00)", "123,45-" or "10,00 D"."""
    plain = _PLAIN.fullmatch(value)
    if plain is not None:
        return plain[1] == "-", plain[2]
    s = _CURRENCY.sub("", value.translate(_MINUSES)).strip()
    if not s:
        return None
    negative = False
    if s[0] == "(" and s[-1] == ")":
        negative, s = True, s[1:-1].strip()
    if len(s) > 1 and s[-1] in "DdCc" and (s[-2] == " " or s[-2].isdigit()):
        negative, s = negative or s[-1] in "Dd", s[:-1].strip()
    if s.endswith("-"):
        negative, s = True, s[:-1].strip()
    elif s.startswith(("-", "+")):
        negative, s = negative or s[0] == "-", s[1:].strip()
    s = s.replace(" ", "").replace("'", "")
    return (negative, s) if _NUMBER.fullmatch(s) else None


def _vote(number: str) -> DecimalMark | None:
    """Which decimal mark one number proves, if any ("1,234" proves nothing)."""
    last_dot, last_comma = number.rfind("."), number.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        return "." if last_dot > last_comma else ","
    for point in (".", ","):
        if number.count(point) > 1:
            return "," if point == "." else "."
        if number.count(point) == 1 and len(number) - number.index(point) - 1 != 3:
            return point
    return None


def decide_decimal(values: Iterable[str], locale: str) -> DecimalMark:
    """The decimal mark of an amount column, by majority of the values that prove one."""
    votes = {",": 0, ".": 0}
    for value in values:
        split = _split_sign(value)
        if split is not None and (point := _vote(split[1])) is not None:
            votes[point] += 1
    if votes[","] == votes["."]:
        return locale_decimal(locale)
    return "," if votes[","] > votes["."] else "."


def parse_amount(value: str, decimal: DecimalMark) -> Decimal | None:
    """The amount in a cell, or None when the cell holds no number that fits the column's decimal mark."""
    split = _split_sign(value)
    if split is None:
        return None
    negative, number = split
    thousands = "." if decimal == "," else ","
    if thousands in number:
        whole = number.split(decimal)[0]
        groups = whole.split(thousands)
        if not groups[0] or any(len(g) != 3 for g in groups[1:]):
            return None
        number = number.replace(thousands, "")
    if number.count(decimal) > 1 or number in {decimal, ""}:
        return None
    try:
        amount = Decimal(number.replace(decimal, "."))
    except InvalidOperation:
        return None
    return -amount if negative else amount
