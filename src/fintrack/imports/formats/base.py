"""What every statement parser returns: rows with the line they came from, and problems as data."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol

from fintrack.errors import DomainError, mark


class UnreadableFile(DomainError):
    """The file cannot be read as a statement."""

    status = 422
    code = "unreadable_file"


@dataclass(frozen=True, slots=True)
class Split:
    amount: Decimal
    category: str | None = None
    memo: str | None = None


@dataclass(frozen=True, slots=True)
class Row:
    """One transaction as the bank wrote it. Amounts are signed from the account holder's view."""

    line: int  # 1-based line (or record number, for formats without lines) where the row starts
    date: dt.date
    amount: Decimal
    description: str
    payee: str | None = None
    memo: str | None = None
    external_id: str | None = None  # the bank's own id (FITID, AcctSvcrRef, :61: reference...)
    currency: str | None = None
    category: str | None = None  # a category named by the source (an app's CSV export, QIF L)
    account: str | None = None  # the statement's account id, for files holding several accounts
    kind: str | None = None  # the bank's transaction type (TRNTYPE, BkTxCd...), informative
    splits: tuple[Split, ...] = ()


@dataclass(frozen=True, slots=True)
class Problem:
    """A row or part of the file that could not be read; it names where and why."""

    line: int | None
    message: str
    field: str | None = None
    severity: Literal["error", "warning"] = "error"


@dataclass(frozen=True, slots=True)
class StatementAccount:
    """An account the file describes (OFX, CAMT and MT940 carry these)."""

    ref: str
    currency: str | None = None
    bank_id: str | None = None
    kind: str | None = None  # checking, savings, credit_card...
    closing_balance: Decimal | None = None
    balance_date: dt.date | None = None


@dataclass
class ParseResult:
    format: str  # csv, ofx, qif, camt, mt940
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    accounts: list[StatementAccount] = field(default_factory=list)
    encoding: str | None = None
    # How many transactions the file itself says it holds (e.g. STMTTRN blocks), to prove none was lost.
    declared_count: int | None = None
    # Decisions the parser could not take alone (e.g. an ambiguous date order), for the user to confirm.
    questions: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


@dataclass(frozen=True)
class Options:
    """What the user may force: the format's own detection is the default for each."""

    encoding: str | None = None
    date_order: Literal["dmy", "mdy", "ymd"] | None = None
    locale: str = "pt-BR"  # decides dd/mm first and decimal comma first when the file cannot


class Parser(Protocol):
    name: str

    def sniff(self, data: bytes, filename: str | None = None) -> float:
        """Confidence in [0, 1] that the bytes are this format."""

    def parse(self, data: bytes, options: Options) -> ParseResult:
        """Never raises for a bad row (it becomes a Problem); raises UnreadableFile for a file it cannot read."""


def decode_text(data: bytes, options: Options) -> tuple[str, str]:
    """The text and the encoding used: the user's choice, else strict UTF-8, else cp1252, else latin-1.

    Strict UTF-8 is the only reliable test (cp1252 and latin-1 decode anything), so it goes first; text formats
    without a declared charset (QIF, MT940) come from banks as UTF-8 or a Windows code page.
    """
    if options.encoding:
        try:
            return data.decode(options.encoding), options.encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise UnreadableFile(
                mark("the file cannot be decoded as {encoding}: {problem}"),
                values={"encoding": options.encoding, "problem": exc},
            ) from exc
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding), "utf-8" if encoding == "utf-8-sig" else encoding
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1"), "latin-1"
