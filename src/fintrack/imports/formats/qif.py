"""Read Quicken Interchange Format (QIF) files into rows, deciding date and decimal style per file."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from fintrack.errors import mark
from fintrack.imports.formats.base import Options, ParseResult, Problem, Row, Split, UnreadableFile, decode_text

# Sections whose records are transactions; everything else (Cat, Class, Security, Memorized, Prices...)
# is a list the user keeps in Quicken, not money that moved.
TRANSACTION_SECTIONS = {"bank", "ccard", "cash", "oth a", "oth l", "invst"}
LIST_SECTIONS = {"cat", "class", "security", "memorized", "prices", "invitem", "template", "payee"}

_DATE = re.compile(r"^(\d{1,4})([/.\-'])(\d{1,2})([/.\-'])(\d{1,4})$")
_TRANSFER = re.compile(r"^\[(.*)\]$")
# Locales that write the month first and a decimal point; everything else gets dd/mm and a decimal comma.
_MDY_LOCALES = {"en-us", "en_us", "en-ph", "en_ph"}
_POINT_LOCALE_PREFIXES = ("en", "ja", "zh", "ko", "th", "he", "ms", "hi")


@dataclass
class _Record:
    line: int
    section: str
    account: str | None
    fields: list[tuple[int, str, str]] = field(default_factory=list)  # (line, code, value)
    terminated: bool = True


def _lines(text: str) -> list[str]:
    # str.splitlines would also split on form feeds and U+2028, shifting every later line number.
    return re.split(r"\r\n|\r|\n", text)


class QifParser:
    name = "qif"

    def sniff(self, data: bytes, filename: str | None = None) -> float:
        head = data[:2048].lstrip(b"\xef\xbb\xbf").lower()
        score = 0.0
        if b"!type:" in head or b"!account" in head or b"!option:" in head:
            score = 0.9
        if filename and filename.lower().endswith(".qif"):
            score = max(score, 0.5) + 0.1
        return min(score, 1.0)

    def parse(self, data: bytes, options: Options) -> ParseResult:
        if not data.strip():
            raise UnreadableFile(mark("the QIF file is empty"))
        text, encoding = decode_text(data, options)
        records = _split_records(_lines(text))
        result = ParseResult(format=self.name, encoding=encoding)
        transactions = [r for r in records if r.section in TRANSACTION_SECTIONS and r.fields]
        result.declared_count = len(transactions)
        for rec in records:
            if rec.section not in TRANSACTION_SECTIONS and rec.section not in LIST_SECTIONS | {"account"}:
                result.problems.append(
                    Problem(
                        rec.line,
                        mark("records in the unknown section !Type:{section} were skipped").format(section=rec.section),
                        "!Type",
                        "warning",
                    )
                )
        order = _date_order([_field(r, "D") for r in transactions], options, result)
        decimal_comma = _decimal_comma([v for r in transactions for _, c, v in r.fields if c in "TU$"], options)
        for rec in transactions:
            if not rec.terminated:
                result.problems.append(Problem(rec.line, mark("the last record has no closing ^"), None, "warning"))
            try:
                result.rows.append(_row(rec, order, decimal_comma, result))
            except _BadField as bad:
                result.problems.append(Problem(bad.line, bad.message, bad.field))
        row_problems = {p.line for p in result.errors}
        if len(result.rows) + len(row_problems) != result.declared_count:
            result.problems.append(
                Problem(
                    None,
                    mark("{declared} transactions in the file but {read} were read").format(
                        declared=result.declared_count, read=len(result.rows)
                    ),
                )
            )
        return result


class _BadField(Exception):
    def __init__(self, line: int, field: str, message: str) -> None:
        super().__init__(message)
        self.line, self.field, self.message = line, field, message


def _split_records(lines: list[str]) -> list[_Record]:
    records: list[_Record] = []
    section: str | None = None
    account: str | None = None
    current: _Record | None = None
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # blank lines and the non-standard '#' comments some exporters write
        if line.startswith("!"):
            header = line[1:].lower()
            if current is not None and current.fields:
                current.terminated = False
                records.append(current)
            current = None
            if header.startswith("type:"):
                section = header[5:].strip()
            elif header == "account":
                section = "account"
            # !Option:/!Clear: switch Quicken behaviour on import; they hold no data.
            continue
        if section is None:
            raise UnreadableFile(
                mark("not a QIF file: line {number} comes before any !Type: header"), values={"number": number}
            )
        if current is None:
            current = _Record(number, section, account)
        if line == "^":
            if section == "account":
                names = [v for _, c, v in current.fields if c == "N" and v.strip()]
                if names:
                    account = names[-1].strip()
            elif current.fields:
                records.append(current)
            current = None
            continue
        current.fields.append((number, line[0].upper(), line[1:]))
    if current is not None and current.fields and current.section != "account":
        current.terminated = False
        records.append(current)
    if section is None:
        raise UnreadableFile(mark("not a QIF file: no !Type: or !Account header"))
    return records


def _field(rec: _Record, code: str) -> tuple[int, str] | None:
    for line, c, value in rec.fields:
        if c == "S":
            return None  # fields after the first split line belong to the split
        if c == code:
            return line, value
    return None


def _date_parts(value: str) -> tuple[int, int, int, bool] | None:
    match = _DATE.match(value.replace(" ", ""))
    if not match:
        return None
    a, _, b, _, c = match.groups()
    return int(a), int(b), int(c), len(a) == 4


def _locale_order(options: Options) -> str:
    return "mdy" if options.locale.lower() in _MDY_LOCALES else "dmy"


def _date_order(dates: list[tuple[int, str] | None], options: Options, result: ParseResult) -> str:
    """Decide day/month order once for the whole file: any first part above 12 settles it."""
    if options.date_order in ("dmy", "mdy"):
        return options.date_order
    dmy = mdy = ambiguous = False
    for item in dates:
        parts = _date_parts(item[1]) if item else None
        if parts is None or parts[3]:
            continue
        first, second = parts[0], parts[1]
        dmy |= first > 12
        mdy |= second > 12
        ambiguous |= first != second and first <= 12 and second <= 12
    if dmy and not mdy:
        return "dmy"
    if mdy and not dmy:
        return "mdy"
    order = _locale_order(options)
    if dmy and mdy:
        said = mark("Dates in this file mix day-first and month-first; read as {order}: confirm.")
        result.questions.append(said.format(order=order))
    elif ambiguous:
        said = mark("Dates in this file could be day-first or month-first; read as {order}: confirm.")
        result.questions.append(said.format(order=order))
    return order


def _decimal_comma(amounts: list[str], options: Options) -> bool:
    """Decide the decimal separator once for the whole file, from amounts that show it unambiguously."""
    comma = point = False
    for raw in amounts:
        value = raw.replace(" ", "")
        if "," in value and "." in value:
            comma |= value.rfind(",") > value.rfind(".")
            point |= value.rfind(".") > value.rfind(",")
        elif re.search(r",\d{1,2}$|,\d{4,}$", value):
            comma = True
        elif re.search(r"\.\d{1,2}$|\.\d{4,}$", value):
            point = True
    if comma != point:
        return comma
    return not options.locale.lower().startswith(_POINT_LOCALE_PREFIXES)


def parse_amount(raw: str, decimal_comma: bool) -> Decimal:
    value = raw.replace(" ", "").replace("$", "")
    if decimal_comma:
        value = value.replace(".", "").replace(",", ".")
    else:
        value = value.replace(",", "")
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)", value):
        raise InvalidOperation(raw)
    return Decimal(value)


def _date(item: tuple[int, str] | None, order: str, record_line: int) -> dt.date:
    if item is None:
        raise _BadField(record_line, "D", mark("the record has no date (D line)"))
    line, value = item
    parts = _date_parts(value)
    if parts is None:
        raise _BadField(line, "D", mark("unreadable date {value!r}").format(value=value.strip()))
    a, b, c, year_first = parts
    year, month, day = (a, b, c) if year_first else (c, a, b) if order == "mdy" else (c, b, a)
    if year < 100:
        year += 2000 if year < 70 else 1900  # two-digit years: Quicken files span 1990s to today
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise _BadField(line, "D", mark("impossible date {value!r}").format(value=value.strip())) from None


def _category(raw: str | None) -> tuple[str | None, str | None]:
    """Return (category, transfer account); the '/class' suffix is a Quicken tag and is dropped."""
    if raw is None:
        return None, None
    name = raw.split("/", 1)[0].strip()
    transfer = _TRANSFER.match(name)
    if transfer:
        return None, transfer.group(1).strip()
    return name or None, None


def _amount(line: int, code: str, raw: str, decimal_comma: bool) -> Decimal:
    try:
        return parse_amount(raw, decimal_comma)
    except InvalidOperation:
        raise _BadField(line, code, mark("unreadable amount {amount!r}").format(amount=raw.strip())) from None


def _splits(rec: _Record, decimal_comma: bool) -> tuple[Split, ...]:
    splits: list[dict[str, object]] = []
    for line, code, value in rec.fields:
        if code == "S":
            splits.append({"line": line, "category": value})
        elif splits and code == "E":
            splits[-1]["memo"] = value.strip() or None
        elif splits and code == "$":
            splits[-1]["amount"] = _amount(line, "$", value, decimal_comma)
    out = []
    for s in splits:
        category, transfer = _category(str(s["category"]))
        memo = s.get("memo")
        if transfer:
            memo = "; ".join(str(m) for m in (memo, f"transfer: {transfer}") if m)
        if "amount" not in s:
            raise _BadField(int(str(s["line"])), "$", mark("a split has no amount ($ line)"))
        amount = s["amount"]
        assert isinstance(amount, Decimal)
        out.append(Split(amount, category, str(memo) if memo else None))
    return tuple(out)


def _row(rec: _Record, order: str, decimal_comma: bool, result: ParseResult) -> Row:
    def value(code: str) -> str | None:
        item = _field(rec, code)
        return item[1].strip() if item and item[1].strip() else None

    date = _date(_field(rec, "D"), order, rec.line)
    amount_item = _field(rec, "T") or _field(rec, "U")
    invest = rec.section == "invst"
    if amount_item is None and invest:
        amount_item = _field(rec, "$")
    if amount_item is None:
        if not invest:
            raise _BadField(rec.line, "T", mark("the record has no amount (T line)"))
        # Actions like a bare "Cash" or a stock split move no money but are still records of the account.
        result.problems.append(
            Problem(rec.line, mark("investment record without an amount; read as 0"), "T", "warning")
        )
        amount = Decimal(0)
    else:
        amount = _amount(amount_item[0], "T", amount_item[1], decimal_comma)
    payee, memo, number = value("P"), value("M"), value("N")
    category, transfer = _category(value("L"))
    kind = external_id = None
    if invest:
        kind = number  # in an investment record N is the action (Buy, Sell, Cash...)
        security = value("Y")
        description = payee or " ".join(p for p in (number, security) if p) or memo or ""
    else:
        if number and number.isdigit():
            external_id = number  # a cheque number
        else:
            kind = number
        description = payee or memo or category or ""
    if transfer:
        kind = kind or "transfer"
        memo = "; ".join(m for m in (memo, f"transfer: {transfer}") if m)
    return Row(
        line=rec.line,
        date=date,
        amount=amount,
        description=description,
        payee=payee,
        memo=memo,
        external_id=external_id,
        category=category,
        account=rec.account,
        kind=kind,
        splits=_splits(rec, decimal_comma),
    )


parser = QifParser()
