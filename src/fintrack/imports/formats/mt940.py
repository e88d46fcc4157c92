"""Read SWIFT MT940 statements and MT942 interim reports, tolerant of the common bank dialects."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from fintrack.errors import mark
from fintrack.imports.formats.base import (
    Options,
    ParseResult,
    Problem,
    Row,
    StatementAccount,
    UnreadableFile,
    decode_text,
)
from fintrack.imports.formats.mt940_details import Details, parse_details

# Only the tags MT940/MT942 define: a wrapped :86: line that happens to start with ":12:" or ":26:" is text.
_TAG = re.compile(r"^:(20|21|25|28C?|60[FM]|61|62[FM]|64|65|86|34F|13D?|90[DC]|NS|940):(.*)$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_ENVELOPE = re.compile(r"\{[1235]:[^{}]*\}|\{4:")
_BALANCE = re.compile(r"^\s*([CD])(\d{6})([A-Z]{3})(\d[\d,.]*)")
_STATEMENT_LINE = re.compile(
    r"^(?P<value>\d{6})(?P<entry>\d{4})?(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])?(?P<amount>\d[\d,.]*)"
    r"(?P<type>[NFS][A-Z0-9]{3})?(?P<rest>.*)$"
)
_BALANCE_TAGS = {"62F", "62M", "64", "65", "90D", "90C"}
UNREADABLE_BALANCE = mark("unreadable balance {value!r}")


@dataclass
class _Transaction:
    line: int
    text: str
    account: str | None
    currency: str | None
    supplementary: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)
    has_details: bool = False


@dataclass
class _Field:
    tag: str
    line: int
    lines: list[str]


def _fields(text: str) -> list[_Field]:
    fields: list[_Field] = []
    for number, raw in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        line = _CONTROL.sub("", _ENVELOPE.sub("", raw))
        stripped = line.strip()
        if stripped in ("-", "-}"):
            fields.append(_Field("-", number, []))
            continue
        match = _TAG.match(line)
        if match:
            fields.append(_Field(match.group(1), number, [match.group(2)]))
        elif fields and fields[-1].tag != "-":
            fields[-1].lines.append(line)
    return fields


def _year(two_digits: int) -> int:
    return 2000 + two_digits if two_digits < 80 else 1900 + two_digits


def _amount(raw: str) -> Decimal:
    value = raw.replace(",", ".")
    if value.count(".") > 1:
        raise InvalidOperation(raw)
    return Decimal(value + "0" if value.endswith(".") else value)


class _BadLine(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


class Mt940Parser:
    name = "mt940"

    def sniff(self, data: bytes, filename: str | None = None) -> float:
        head = data[:8192]
        score = 0.0
        if b":20:" in head and (b":61:" in head or b":60F:" in head or b":25:" in head):
            score = 0.9
        elif b":61:" in head and b":86:" in head:
            score = 0.6
        if filename and filename.lower().endswith((".sta", ".940", ".mt940", ".942")):
            score = min(1.0, score + 0.1) if score else 0.3
        elif filename and filename.lower().endswith(".txt") and score:
            score = min(1.0, score + 0.05)
        return score

    def parse(self, data: bytes, options: Options) -> ParseResult:
        if not data.strip():
            raise UnreadableFile(mark("the MT940 file is empty"))
        text, encoding = decode_text(data, options)
        fields = _fields(text)
        if not any(f.tag in ("20", "61") for f in fields):
            raise UnreadableFile(mark("not an MT940 statement: no :20: or :61: field found"))
        result = ParseResult(format=self.name, encoding=encoding)
        result.declared_count = sum(1 for f in fields if f.tag == "61")
        accounts: dict[str, StatementAccount] = {}
        transactions: list[_Transaction] = []
        account: str | None = None
        currency: str | None = None
        in_statement = seen_rows = False
        current: _Transaction | None = None
        for f in fields:
            value = f.lines[0].strip() if f.lines else ""
            if f.tag == "20":
                account, currency, in_statement, current, seen_rows = None, None, True, None, False
            elif f.tag == "25":
                if seen_rows:
                    result.problems.append(
                        Problem(f.line, mark("a :25: field inside a transaction was ignored"), ":25:", "warning")
                    )
                    current = None
                    continue
                account = value or None
                if account and account not in accounts:
                    bank = account.split("/", 1)[0] if "/" in account else None
                    accounts[account] = StatementAccount(ref=account, bank_id=bank)
            elif f.tag in ("60F", "60M", "62F", "62M", "34F", "90D", "90C"):
                currency = _balance(f, account, currency, accounts, result)
            if f.tag == "61":
                if not in_statement:
                    # Seen after a '-' terminator with no :20:/:25: of its own (e.g. a truncated export).
                    result.problems.append(
                        Problem(f.line, mark("transaction outside any statement: no account"), ":61:", "warning")
                    )
                current = _Transaction(f.line, value, account if in_statement else None, currency, f.lines[1:])
                transactions.append(current)
                seen_rows = in_statement
            elif f.tag == "86":
                if current is not None:  # otherwise it is statement-level free text, not a transaction's
                    current.details.extend(f.lines)
                    current.has_details = True
            elif f.tag in _BALANCE_TAGS or f.tag in ("20", "28", "28C"):
                current = None
            elif f.tag == "-":
                current, in_statement = None, False
        for tx in transactions:
            try:
                result.rows.append(_row(tx, result))
            except _BadLine as bad:
                result.problems.append(Problem(tx.line, bad.message, bad.field))
        result.accounts = list(accounts.values())
        bad_rows = len({p.line for p in result.errors})
        if len(result.rows) + bad_rows != result.declared_count:
            result.problems.append(
                Problem(
                    None,
                    mark("{declared} :61: lines in the file but {read} were read").format(
                        declared=result.declared_count, read=len(result.rows)
                    ),
                )
            )
        return result


def _balance(
    f: _Field,
    account: str | None,
    currency: str | None,
    accounts: dict[str, StatementAccount],
    result: ParseResult,
) -> str | None:
    value = f.lines[0].strip()
    if f.tag in ("34F", "90D", "90C"):  # MT942: floor limit and totals carry the currency only
        found = re.search(r"[A-Z]{3}", value)
        return currency or (found.group(0) if found else None)
    match = _BALANCE.match(value)
    if not match:
        result.problems.append(Problem(f.line, UNREADABLE_BALANCE.format(value=value), f":{f.tag}:", "warning"))
        return currency
    sign, date, ccy, raw = match.groups()
    if f.tag.startswith("62") and account in accounts:
        try:
            amount = _amount(raw)
            when = dt.date(_year(int(date[:2])), int(date[2:4]), int(date[4:6]))
        except (InvalidOperation, ValueError):
            result.problems.append(Problem(f.line, UNREADABLE_BALANCE.format(value=value), f":{f.tag}:", "warning"))
            return ccy
        previous = accounts[account]
        accounts[account] = StatementAccount(
            ref=previous.ref,
            currency=ccy,
            bank_id=previous.bank_id,
            closing_balance=-amount if sign == "D" else amount,
            balance_date=when,
        )
    return ccy


def _date(tx: _Transaction, value: str, entry: str | None, result: ParseResult) -> dt.date:
    year, month, day = _year(int(value[:2])), int(value[2:4]), int(value[4:6])
    if not 1 <= month <= 12:
        raise _BadLine("date", mark("impossible value date {value!r}").format(value=value))
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        # Some German banks write 30 February for month-end interest; keep the row, say so.
        result.problems.append(
            Problem(
                tx.line,
                mark("impossible value date {value!r}; read as the month's last day").format(value=value),
                "date",
                "warning",
            )
        )
        day = max(1, min(day, last))
    value_date = dt.date(year, month, day)
    if entry is None:
        return value_date
    # The entry (booking) date has no year: take the one that puts it nearest the value date.
    candidates = []
    for y in (year - 1, year, year + 1):
        try:
            candidates.append(dt.date(y, int(entry[:2]), int(entry[2:])))
        except ValueError:
            continue
    if not candidates:
        said = mark("impossible entry date {entry!r}; value date used").format(entry=entry)
        result.problems.append(Problem(tx.line, said, "date", "warning"))
        return value_date
    return min(candidates, key=lambda d: abs((d - value_date).days))


def _row(tx: _Transaction, result: ParseResult) -> Row:
    match = _STATEMENT_LINE.match(tx.text.strip())
    if not match:
        raise _BadLine(":61:", mark("unreadable statement line {line!r}").format(line=tx.text))
    date = _date(tx, match["value"], match["entry"], result)
    try:
        amount = _amount(match["amount"])
    except InvalidOperation:
        raise _BadLine("amount", mark("unreadable amount {amount!r}").format(amount=match["amount"])) from None
    # RC (reversal of a credit) takes money out; RD (reversal of a debit) puts it back.
    if match["mark"] in ("D", "RC"):
        amount = -amount
    rest = match["rest"]
    customer, _, bank_ref = rest.partition("//")
    parts = re.split(r"\s{2,}", customer.strip(), maxsplit=1)
    customer_ref = parts[0].strip()
    inline_name = parts[1].strip() if len(parts) > 1 else None  # Rabobank writes the counterparty here
    bank_ref = bank_ref.strip() if bank_ref.strip().upper() != "NONREF" else ""
    external_id = bank_ref or (customer_ref if customer_ref and customer_ref.upper() != "NONREF" else None)
    details: Details = parse_details(tx.details) if tx.has_details else Details()
    supplementary = " ".join(s.strip() for s in tx.supplementary if s.strip()) or None
    memo = "; ".join(p for p in (details.posting_text, supplementary) if p) or None
    description = details.description or supplementary or details.payee or inline_name or match["type"] or ""
    return Row(
        line=tx.line,
        date=date,
        amount=amount,
        description=description,
        payee=details.payee or inline_name,
        memo=memo,
        external_id=external_id,
        currency=tx.currency,
        account=tx.account,
        kind=match["type"] or details.code,
    )


parser = Mt940Parser()
