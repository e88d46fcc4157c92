"""Read OFX leaf values (dates, amounts) and turn one STMTTRN's fields into a Row or a Problem."""

from __future__ import annotations

import datetime as dt
import functools
import re
from decimal import Decimal, InvalidOperation

from fintrack.errors import mark
from fintrack.imports.formats.base import Problem, Row
from fintrack.imports.formats.sgml import unescape

_TIME = re.compile(r"(?:\d{2,6}(?:[.,]\d*)?)?\s*(?:\[[^\]]*\]?)?")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")

# OFC (Microsoft Money's format) numbers what OFX spells out.
OFC_TRNTYPE = {"0": "CREDIT", "1": "DEBIT"}
ACCOUNT_KIND = {
    "CHECKING": "checking",
    "SAVINGS": "savings",
    "MONEYMRKT": "money_market",
    "CREDITLINE": "credit_line",
    "CD": "cd",
    # OFC ACCTTYPE codes
    "0": "checking",
    "1": "savings",
    "2": "credit_card",
    "3": "money_market",
    "4": "credit_line",
}


@functools.lru_cache(maxsize=4096)  # a statement repeats a few dozen dates thousands of times
def parse_date(value: str) -> dt.date | None:
    """The calendar date as written: the bracketed offset (often mislabelled, `[-3:EST]`) is not applied,
    because the bank wrote the local date its customer sees on the statement."""
    head, rest = value[:8], value[8:]
    if not (head.isdigit() and head.isascii()) or (rest and not _TIME.fullmatch(rest)):
        return None
    try:
        return dt.date(int(head[:4]), int(head[4:6]), int(head[6:]))
    except ValueError:
        return None


def parse_amount(value: str) -> Decimal | None:
    """A signed decimal; OFX allows a comma as the decimal mark, and some banks also group thousands."""
    text = value.strip()
    if " " in text or "\xa0" in text:
        text = text.replace(" ", "").replace("\xa0", "")
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    else:
        text = text.replace(",", ".")
    if not _NUMBER.fullmatch(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid literals
        return None


def _text(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip()
    if "&" in value:
        value = unescape(value).strip()
    return value or None


def build_row(fields: dict[str, str], line: int, account: str | None, currency: str | None) -> Row | Problem:
    """One STMTTRN: a Row, or a Problem naming the field that stops it being one."""
    get = fields.get
    field = "DTPOSTED"
    raw_date = (get(field) or "").strip()
    if not raw_date:
        field = "DTUSER"
        raw_date = (get(field) or "").strip()
    if not raw_date:
        return Problem(line, mark("the transaction has no date (DTPOSTED or DTUSER)"), field="DTPOSTED")
    date = parse_date(raw_date)
    if date is None:
        return Problem(
            line, mark("{field} {value!r} is not a valid date").format(field=field, value=raw_date), field=field
        )
    raw_amount = (get("TRNAMT") or "").strip()
    if not raw_amount:
        return Problem(line, mark("the transaction has no amount (TRNAMT)"), field="TRNAMT")
    amount = parse_amount(raw_amount)
    if amount is None:
        return Problem(line, mark("TRNAMT {value!r} is not a number").format(value=raw_amount), field="TRNAMT")
    payee = _text(get("NAME")) or _text(get("PAYEE.NAME"))
    memo = _text(get("MEMO"))
    description = payee or memo or ""
    kind = _text(get("TRNTYPE"))
    # A CURRENCY aggregate says the amount itself is in another currency; ORIGCURRENCY only records
    # what it was converted from, so the amount stays in the statement's CURDEF.
    currency = _text(get("CURRENCY.CURSYM")) or currency
    return Row(
        line=line,
        date=date,
        amount=amount,
        description=description,
        payee=payee,
        memo=memo if memo != description else None,
        external_id=_text(get("FITID")),
        currency=currency.upper() if currency else None,
        account=account,
        kind=OFC_TRNTYPE.get(kind, kind) if kind else None,
    )
