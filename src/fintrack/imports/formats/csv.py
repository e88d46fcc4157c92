"""The CSV statement parser: detects a file's layout (or takes a saved one), then reads its rows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from fintrack.errors import mark
from fintrack.imports.formats.base import Options, ParseResult, Problem, Row, UnreadableFile
from fintrack.imports.formats.csv_profiles import BUILTIN_PROFILES, CsvProfile, header_key
from fintrack.imports.formats.csv_sniff import decode, detect_delimiter, find_header, records, sample
from fintrack.imports.formats.csv_values import (
    DecimalMark,
    decide_date_order,
    decide_decimal,
    is_summary,
    normalize,
    parse_amount,
    parse_date,
)

__all__ = ["BUILTIN_PROFILES", "CsvLayout", "CsvParser", "CsvProfile", "parser"]

_S_OR_T = frozenset("sStT")
_DEBIT_KINDS = {"saida", "debito", "d", "debit", "dr", "despesa", "pagamento"}
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_NOT_CSV = re.compile(rb"<\?xml|<ofx|ofxheader|<document|^\s*:20:|^\s*\{1:|^\s*!type:|^\s*!account", re.I | re.M)
NOT_AN_AMOUNT = mark("not an amount: {value!r}")


@dataclass(frozen=True, slots=True)
class CsvLayout:
    """What detect() found: the profile to read with, and this file's own encoding, delimiter and header line.

    The import session may save `profile` (pinning `delimiter`/`encoding` with dataclasses.replace if it
    wants) and hand it to parse_with() for the next file with the same header.
    """

    profile: CsvProfile
    encoding: str
    delimiter: str
    header_line: int | None  # 1-based; None for a file without a header


class CsvParser:
    name = "csv"

    def __init__(self, profiles: Sequence[CsvProfile] = ()) -> None:
        # Saved profiles are tried before the built-in ones, so a user's correction wins.
        self.profiles = tuple(profiles)

    def sniff(self, data: bytes, filename: str | None = None) -> float:
        extension = (filename or "").rsplit(".", 1)[-1].lower() if filename and "." in filename else ""
        if _NOT_CSV.search(data[:2048]) or extension in {"ofx", "qfx", "qbo", "ofc", "qif", "xml", "sta", "mt940"}:
            return 0.05
        try:
            text, _, _ = decode(data[:SNIFF_BYTES], None)
            head = sample(text)
            _reject_binary(head)
            delimiter, width = detect_delimiter(head)
        except (UnreadableFile, UnicodeError):
            return 0.1 if extension in {"csv", "tsv"} else 0.0
        lines = [f for _, f, _ in records(head, delimiter) if f]
        consistent = sum(1 for f in lines if len(f) == width) / len(lines) if lines and width else 0.5
        bonus = {"csv": 0.25, "tsv": 0.25, "txt": 0.05}.get(extension, 0.0)
        return round(min(0.95, 0.3 + 0.4 * consistent + bonus), 3)

    def detect(self, data: bytes, options: Options | None = None) -> CsvLayout:
        """The layout of the file: encoding, delimiter, header line and a (built-in, saved or generic) profile."""
        options = options or Options()
        text, encoding, _ = decode(data, options.encoding)
        return self._detect(text, encoding)

    def parse(self, data: bytes, options: Options) -> ParseResult:
        return self.read(data, options)[0]

    def parse_with(self, data: bytes, profile: CsvProfile, options: Options) -> ParseResult:
        """Read the file with a given (saved) profile; its header must be in the file's first lines."""
        return self.read(data, options, profile)[0]

    def read(self, data: bytes, options: Options, profile: CsvProfile | None = None) -> tuple[ParseResult, CsvLayout]:
        """Parse, and say how: the layout found (or the given profile's), for the preview to show and save."""
        if profile is None:
            text, encoding, warning = decode(data, options.encoding)
            layout = self._detect(text, encoding)
            return _read(text, layout, options, warning), layout
        text, encoding, warning = decode(data, options.encoding or profile.encoding)
        head = _checked_sample(text)
        delimiter = profile.delimiter or detect_delimiter(head)[0]
        header_line = None
        if profile.header is not None:
            found = (line for line, f, _ in records(head, delimiter) if f and header_key(f) == profile.header)
            header_line = next(found, None)
            if header_line is None:
                raise UnreadableFile(
                    mark("the header of the CSV profile {name!r} is not in the file"), values={"name": profile.name}
                )
        layout = CsvLayout(profile, encoding, delimiter, header_line)
        return _read(text, layout, options, warning), layout

    def _detect(self, text: str, encoding: str) -> CsvLayout:
        head = _checked_sample(text)
        delimiter, _ = detect_delimiter(head)
        header_line, profile = find_header(head, delimiter, self.profiles)
        return CsvLayout(profile, encoding, delimiter, header_line)


SNIFF_BYTES = 16 * 1024


def _checked_sample(text: str) -> str:
    if not text.strip():
        raise UnreadableFile(mark("the file is empty"))
    head = sample(text)
    _reject_binary(head)
    return head


def _reject_binary(head: str) -> None:
    if len(_CONTROL.findall(head)) > max(2, len(head) // 50):
        raise UnreadableFile(mark("the file holds binary data, not text"))


def _read(text: str, layout: CsvLayout, options: Options, warning: str | None) -> ParseResult:
    """Two passes over the records: one to decide each column's formats, one to build the rows."""
    p = layout.profile
    result = ParseResult(format="csv", encoding=layout.encoding)
    if warning:
        result.problems.append(Problem(None, warning, field="encoding", severity="warning"))
    start = layout.header_line or 0
    width = p.width

    date_values: set[str] = set()
    money: dict[int, list[str]] = {i: [] for i in (p.amount, p.debit, p.credit) if i is not None}
    for line, fields, _ in records(text, layout.delimiter):
        if line > start and fields and len(fields) > p.date:
            date_values.add(fields[p.date])
            for i, values in money.items():
                if i < len(fields):
                    values.append(fields[i])

    order = options.date_order or p.date_order
    if order is None:
        order, question = decide_date_order(date_values, options.locale)
        if question:
            result.questions.append(question)
    marks: dict[int, DecimalMark] = {i: p.decimal or decide_decimal(v, options.locale) for i, v in money.items()}
    del date_values, money

    dates: dict[str, dt.date | None] = {}
    for line, fields, error in records(text, layout.delimiter):
        if line <= start:
            continue
        if error is not None:
            result.problems.append(Problem(line, mark("unreadable CSV record: {problem}").format(problem=error)))
            continue
        if not fields or not "".join(fields).strip():
            continue
        while len(fields) > width and not fields[-1].strip():
            fields.pop()
        if _summary(fields, p):
            text_ = " ".join(c.strip() for c in fields if c.strip())
            result.problems.append(
                Problem(line, mark("balance/summary line skipped: {text}").format(text=text_[:120]), severity="warning")
            )
            continue
        preamble = layout.header_line is None and not result.rows
        if len(fields) != width:
            if not preamble:
                result.problems.append(
                    Problem(
                        line, mark("expected {width} columns, found {found}").format(width=width, found=len(fields))
                    )
                )
            continue
        raw_date = fields[p.date]
        if raw_date not in dates:
            dates[raw_date] = parse_date(raw_date, order)
        date = dates[raw_date]
        if date is None and preamble:
            continue  # a file without a header may still open with a title line
        amount, amount_problem = _amount(fields, p, marks)
        if date is None or amount is None:
            if date is None:
                result.problems.append(
                    Problem(line, mark("not a date: {value!r}").format(value=raw_date.strip()), field="date")
                )
            if amount_problem:
                result.problems.append(Problem(line, amount_problem, field="amount"))
            continue
        result.rows.append(_row(line, date, amount, fields, p))
    return result


def _summary(fields: list[str], p: CsvProfile) -> bool:
    """Balance and total lines, by their description or their first cell ("Saldo do dia", "Total")."""
    first = 1 if len(fields) > 1 and not fields[0].strip() else 0
    for i in (p.description, first):
        if i is not None and i < len(fields):
            cell = fields[i].lstrip()
            # Most cells do not start with s/t: testing the letter first keeps 100k rows fast.
            if cell[:1] in _S_OR_T and is_summary(cell[:40]):
                return True
    return False


def _amount(fields: list[str], p: CsvProfile, marks: dict[int, DecimalMark]) -> tuple[Decimal | None, str | None]:
    if p.amount is not None:
        raw = fields[p.amount]
        amount = parse_amount(raw, marks[p.amount])
        if amount is None:
            return None, NOT_AN_AMOUNT.format(value=raw.strip())
    else:
        parts: list[Decimal] = []
        for i, sign in ((p.credit, 1), (p.debit, -1)):
            if i is None or not fields[i].strip():
                continue
            value = parse_amount(fields[i], marks[i])
            if value is None:
                return None, NOT_AN_AMOUNT.format(value=fields[i].strip())
            parts.append(sign * abs(value))
        if not parts:
            return None, mark("neither a debit nor a credit amount")
        amount = sum(parts, Decimal(0))
    if p.kind is not None and amount > 0 and normalize(fields[p.kind]) in _DEBIT_KINDS:
        amount = -amount  # an unsigned amount with a "Saída"/"D" type column
    if p.flip_sign and amount:
        amount = -amount
    return amount, None


def _cell(fields: list[str], index: int | None) -> str | None:
    if index is None:
        return None
    value = fields[index].strip()
    if "  " in value or "\n" in value or "\t" in value:
        value = " ".join(value.split())
    return value or None


def _row(line: int, date: dt.date, amount: Decimal, fields: list[str], p: CsvProfile) -> Row:
    payee = _cell(fields, p.payee)
    memo = _cell(fields, p.memo)
    description = _cell(fields, p.description) or payee or memo or ""
    return Row(
        line=line,
        date=date,
        amount=amount,
        description=description,
        payee=payee,
        memo=memo,
        external_id=_cell(fields, p.external_id),
        category=_cell(fields, p.category),
        kind=_cell(fields, p.kind),
    )


parser = CsvParser()
