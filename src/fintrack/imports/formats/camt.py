"""Read ISO 20022 CAMT.052/053/054 XML (any version) into one row per booked entry, safely."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from fintrack.errors import mark
from fintrack.imports.formats.base import (
    Options,
    ParseResult,
    Problem,
    Row,
    Split,
    StatementAccount,
    UnreadableFile,
)

REPORTS = {"Stmt", "Rpt", "Ntfctn"}  # statement (053), intraday report (052), notification (054)
_AMOUNT = re.compile(r"\d{1,18}(\.\d{0,17})?")
CLOSING = ("CLBD", "CLAV", "ITBD", "ITAV")  # closing booked first; intraday when a 052 has nothing else


def local(tag: object) -> str:
    # Namespace-agnostic on purpose: every CAMT version has its own namespace URI.
    return str(tag).rsplit("}", 1)[-1]


def child(el: Element | None, *path: str) -> Element | None:
    for name in path:
        if el is None:
            return None
        el = next((c for c in el if local(c.tag) == name), None)
    return el


def children(el: Element | None, name: str) -> list[Element]:
    return [] if el is None else [c for c in el if local(c.tag) == name]


def text(el: Element | None, *path: str) -> str | None:
    found = child(el, *path)
    if found is None or found.text is None:
        return None
    value = " ".join(found.text.split())
    return value or None


class _LineBuilder(TreeBuilder):
    """Remembers the line each element starts on, so problems can name it."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[int, int] = {}
        self.parser: DefusedXMLParser | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        el = super().start(tag, attrs)
        if self.parser is not None:
            self.lines[id(el)] = self.parser.parser.CurrentLineNumber
        return el


def read_xml(data: bytes, encoding: str | None) -> tuple[Element, dict[int, int]]:
    builder = _LineBuilder()
    # No DTD at all: CAMT never needs one, and refusing it shuts out entity expansion and XXE together.
    xml = DefusedXMLParser(target=builder, encoding=encoding, forbid_dtd=True)
    builder.parser = xml
    try:
        xml.feed(data)
        root = xml.close()
    except DefusedXmlException as exc:
        raise UnreadableFile(
            mark("the XML file uses a forbidden construct (DTD or entities): {problem}"), values={"problem": exc}
        ) from exc
    except (ParseError, LookupError, ValueError) as exc:
        raise UnreadableFile(mark("the file is not well-formed XML: {problem}"), values={"problem": exc}) from exc
    return root, builder.lines


def _date(el: Element | None) -> dt.date | None:
    value = text(el, "Dt") or text(el, "DtTm")
    if value is None and el is not None:
        value = text(el, "Dt", "DtTm") or text(el, "Dt", "Dt")  # Bal/Dt/DtTm in some banks' files
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _amount(el: Element | None, indicator: str | None) -> tuple[Decimal, str | None]:
    if el is None or not el.text:
        raise InvalidOperation("missing")
    # ISO 20022 amounts are plain decimals; refusing exponents keeps "9E999999" from overflowing a sum later.
    if not _AMOUNT.fullmatch(el.text.strip()):
        raise InvalidOperation(el.text)
    amount = Decimal(el.text.strip())
    return (-amount if indicator == "DBIT" else amount), el.get("Ccy")


def _party(pties: Element | None, role: str) -> str | None:
    party = child(pties, role)
    return (
        text(party, "Nm")
        or text(party, "Pty", "Nm")  # v08 wraps the party
        or text(party, "Agt", "FinInstnId", "Nm")
        or text(party, "FinInstnId", "Nm")
        or text(party, "Agt", "FinInstnId", "BICFI")
    )


def _remittance(tx: Element | None) -> str | None:
    rmt = child(tx, "RmtInf")
    chunks = [text(u) for u in children(rmt, "Ustrd")]
    # Banks cut one long text into 140-char Ustrd blocks, often mid-word; a full block continues the text.
    joined = ""
    for chunk in filter(None, chunks):
        joined += chunk if len(joined) >= 100 and not joined.endswith(" ") else (" " if joined else "") + chunk
    if joined:
        return joined
    for strd in children(rmt, "Strd"):
        found = text(strd, "AddtlRmtInf") or text(strd, "CdtrRefInf", "Ref")
        if found:
            return found
    return None


def _bank_code(el: Element | None) -> str | None:
    code = child(el, "BkTxCd")
    domain = child(code, "Domn")
    if domain is not None:
        parts = [text(domain, "Cd"), text(domain, "Fmly", "Cd"), text(domain, "Fmly", "SubFmlyCd")]
        return "/".join(p for p in parts if p) or None
    return text(code, "Prtry", "Cd")


def _reference(entry: Element, txs: list[Element]) -> str | None:
    found = text(entry, "AcctSvcrRef") or text(entry, "NtryRef")
    for tx in txs[:1]:
        refs = child(tx, "Refs")
        for name in ("AcctSvcrRef", "TxId", "EndToEndId", "UETR", "InstrId"):
            value = text(refs, name)
            if not found and value and value != "NOTPROVIDED":
                found = value
    return found


class CamtParser:
    name = "camt"

    def sniff(self, data: bytes, filename: str | None = None) -> float:
        head = data[:4096]
        score = 0.0
        if b"camt.05" in head or b"BkToCstmr" in head:
            score = 0.95
        elif b"<Document" in head:
            score = 0.3
        if filename and filename.lower().endswith(".xml"):
            score = min(1.0, score + 0.05) if score else 0.1
        return score

    def parse(self, data: bytes, options: Options) -> ParseResult:
        if not data.strip():
            raise UnreadableFile(mark("the CAMT file is empty"))
        root, lines = read_xml(data, options.encoding)
        reports = [r for c in root.iter() if local(c.tag).startswith("BkToCstmr") for r in c if local(r.tag) in REPORTS]
        if not reports:
            raise UnreadableFile(mark("not a CAMT statement: no BkToCstmr Stmt, Rpt or Ntfctn element"))
        result = ParseResult(format=self.name, encoding=options.encoding or "xml")
        result.declared_count = sum(1 for e in root.iter() if local(e.tag) == "Ntry")
        header_date = _date_from_stamp(text(child(root[0], "GrpHdr"), "CreDtTm")) if len(root) else None
        accounts: dict[str, StatementAccount] = {}
        for report in reports:
            acct = child(report, "Acct")
            ref = (
                text(acct, "Id", "IBAN")
                or text(acct, "Id", "Othr", "Id")
                or text(acct, "Id", "PrtryAcct", "Id")  # camt.052.001.01
                or text(acct, "Id", "BBAN")
            )
            currency = text(acct, "Ccy")
            account = _account(report, ref, currency, lines, result)
            if account is not None:
                previous = accounts.get(account.ref)
                if previous is None or previous.closing_balance is None or account.closing_balance is not None:
                    accounts[account.ref] = account
            fallback = _date_from_stamp(text(report, "CreDtTm")) or header_date
            for entry in children(report, "Ntry"):
                line = lines.get(id(entry), 0)
                try:
                    result.rows.append(_row(entry, line, ref, currency, fallback, result))
                except _BadEntry as bad:
                    result.problems.append(Problem(line, bad.message, bad.field))
        result.accounts = list(accounts.values())
        bad_rows = len({p.line for p in result.errors})
        if len(result.rows) + bad_rows != result.declared_count:
            result.problems.append(
                Problem(
                    None,
                    mark("{declared} entries in the file but {read} were read").format(
                        declared=result.declared_count, read=len(result.rows)
                    ),
                )
            )
        return result


class _BadEntry(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


def _date_from_stamp(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _account(
    report: Element, ref: str | None, currency: str | None, lines: dict[int, int], result: ParseResult
) -> StatementAccount | None:
    if ref is None:
        result.problems.append(
            Problem(lines.get(id(report)), mark("the statement names no account (Acct/Id)"), "Acct", "warning")
        )
        return None
    balances = {text(b, "Tp", "CdOrPrtry", "Cd"): b for b in children(report, "Bal")}
    closing, when = None, None
    for code in CLOSING:
        bal = balances.get(code)
        if bal is None:
            continue
        try:
            closing, bal_ccy = _amount(child(bal, "Amt"), text(bal, "CdtDbtInd"))
        except (InvalidOperation, ValueError):
            result.problems.append(
                Problem(lines.get(id(bal)), mark("unreadable {code} balance").format(code=code), "Bal", "warning")
            )
            break
        currency = currency or bal_ccy
        when = _date(child(bal, "Dt"))
        break
    svcr = child(child(report, "Acct"), "Svcr", "FinInstnId")
    bank = text(svcr, "BICFI") or text(svcr, "BIC")
    return StatementAccount(ref=ref, currency=currency, bank_id=bank, closing_balance=closing, balance_date=when)


def _row(
    entry: Element,
    line: int,
    account: str | None,
    acct_ccy: str | None,
    fallback: dt.date | None,
    result: ParseResult,
) -> Row:
    indicator = text(entry, "CdtDbtInd")
    if indicator not in ("DBIT", "CRDT"):
        raise _BadEntry(
            "CdtDbtInd",
            mark("the entry has no valid credit/debit indicator ({indicator!r})").format(indicator=indicator),
        )
    try:
        amount, currency = _amount(child(entry, "Amt"), indicator)
    except (InvalidOperation, ValueError):
        raise _BadEntry("Amt", mark("unreadable entry amount {amount!r}").format(amount=text(entry, "Amt"))) from None
    date = _date(child(entry, "BookgDt")) or _date(child(entry, "ValDt"))
    if date is None:
        if fallback is None:
            raise _BadEntry("BookgDt", mark("the entry has no booking or value date"))
        date = fallback
        result.problems.append(
            Problem(
                line, mark("the entry has no booking or value date; the report's date was used"), "BookgDt", "warning"
            )
        )
    status = text(entry, "Sts") or text(entry, "Sts", "Cd")
    if status == "PDNG":
        result.problems.append(Problem(line, mark("pending entry: not yet booked by the bank"), "Sts", "warning"))
    details = [d for n in children(entry, "NtryDtls") for d in children(n, "TxDtls")]
    batch = next((b for n in children(entry, "NtryDtls") for b in children(n, "Btch")), None)
    # The payee is the other side: who we paid on a debit, who paid us on a credit.
    role = "Cdtr" if indicator == "DBIT" else "Dbtr"
    payees = [_party(child(tx, "RltdPties"), role) for tx in details]
    remits = [_remittance(tx) for tx in details]
    extra = text(entry, "AddtlNtryInf")
    memo = None
    splits: tuple[Split, ...] = ()
    if len(details) > 1 or batch is not None:
        payee = None
        description = extra or f"batch of {text(batch, 'NbOfTxs') or len(details)} payments"
        splits, memo = _batch(details, payees, remits, amount, currency, batch)
    else:
        payee = payees[0] if payees else None
        description = (remits[0] if remits else None) or extra or payee or _bank_code(entry) or ""
        memo = extra if extra and extra != description else None
    return Row(
        line=line,
        date=date,
        amount=amount,
        description=description,
        payee=payee,
        memo=memo,
        external_id=_reference(entry, details),
        currency=currency or acct_ccy,
        account=account,
        kind=_bank_code(entry) or (_bank_code(details[0]) if details else None),
        splits=splits,
    )


def _batch(
    details: list[Element],
    payees: list[str | None],
    remits: list[str | None],
    amount: Decimal,
    currency: str | None,
    batch: Element | None,
) -> tuple[tuple[Split, ...], str]:
    """Splits only when the underlying payments add up to the booked amount; otherwise list them in memo."""
    parts: list[tuple[Decimal | None, str | None, str]] = []
    for tx, payee, remit in zip(details, payees, remits, strict=True):
        label = " - ".join(p for p in (payee, remit) if p) or "payment"
        try:
            amt = child(tx, "Amt")
            sub, ccy = _amount(amt if amt is not None else child(tx, "AmtDtls", "TxAmt", "Amt"), None)
        except (InvalidOperation, ValueError):
            parts.append((None, None, label))
            continue
        sub = -abs(sub) if amount < 0 else abs(sub)
        parts.append((sub, ccy, label))
    declared = text(batch, "NbOfTxs")
    count = f"{declared} payments" if declared else f"{len(details)} payments"
    if len(details) and declared and declared != str(len(details)):
        count += f" ({len(details)} detailed)"
    listed = "; ".join(f"{label} {sub} {ccy or ''}".rstrip() if sub is not None else label for sub, ccy, label in parts)
    memo = f"batch of {count}" + (f": {listed}" if listed else "")
    amounts = [sub for sub, _, _ in parts]
    consistent = (
        len(parts) > 1
        and all(a is not None for a in amounts)
        and all(ccy in (None, currency) for _, ccy, _ in parts)
        and sum(a for a in amounts if a is not None) == amount
    )
    if consistent:
        return tuple(Split(sub, None, label) for sub, _, label in parts if sub is not None), memo
    return (), memo


parser = CamtParser()
