"""Read OFX 1.x/2.x, QFX, QBO and OFC statements into rows, accounts and problems."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field

from fintrack.errors import mark
from fintrack.imports.formats.base import Options, ParseResult, Problem, Row, StatementAccount, UnreadableFile
from fintrack.imports.formats.ofx_values import ACCOUNT_KIND, build_row, parse_amount, parse_date
from fintrack.imports.formats.sgml import TOKEN, decode, unescape

EXTENSIONS = (".ofx", ".qfx", ".qbo", ".ofc")
# Must find exactly the STMTTRN tags TOKEN finds: these positions are both the count and the reading plan.
_STMTTRN = re.compile(r"<STMTTRN(?=[\s>/])[^<>]*>", re.IGNORECASE)
_ROOT = re.compile(r"<OF[XC](?=[\s>])", re.IGNORECASE)
_SECURITIES = re.compile(
    r"<(BUYDEBT|BUYMF|BUYOPT|BUYOTHER|BUYSTOCK|CLOSUREOPT|INCOME|INVEXPENSE|JRNLFUND|JRNLSEC|MARGININTEREST"
    r"|REINVEST|RETOFCAP|SELLDEBT|SELLMF|SELLOPT|SELLOTHER|SELLSTOCK|SPLIT|TRANSFER)>",
    re.IGNORECASE,
)
_LEAF = re.compile(r"<([^\s<>/!?][^\s<>/]*)[^<>]*>([^<]*)")
_PARTS = r"<(?:PAYEE|CURRENCY|ORIGCURRENCY|BANKACCTTO|CCACCTTO)[\s>]"
_ENDS = (
    r"<(/?STMTTRN|/?(?:BANKTRANLIST|INVBANKTRAN|STMTRS|CCSTMTRS|INVSTMTRS|ACCTSTMT|STMTTRNRS|CCSTMTTRNRS"
    r"|INVSTMTTRNRS|LEDGERBAL|AVAILBAL|LEDGER|INVTRANLIST|BANKMSGSRSV1|CREDITCARDMSGSRSV1|INVSTMTMSGSRSV1|OFX|OFC))"
    r"(?=[\s>])"
)
# Case-insensitive matching is three times slower, so it is kept for the rare file with lower-case tags.
_LOWER_TAG = re.compile(r"</?[a-z]")
_TRN_PART = {False: re.compile(_PARTS), True: re.compile(_PARTS, re.IGNORECASE)}
_TRN_END = {False: re.compile(_ENDS), True: re.compile(_ENDS, re.IGNORECASE)}
_HEAD = re.compile(rb"^[\s\x00]*(?:\xef\xbb\xbf)?[\s\x00]*(OFXHEADER|<\?OFX|<OFX|<OFC)", re.IGNORECASE)
# An XML declaration alone says nothing (CAMT starts with one too); OFX 2.x follows it with its own PI.
_XML_OFX = re.compile(rb"^[\s\x00]*(?:\xef\xbb\xbf)?[\s\x00]*<\?xml[^>]*\?>\s*<\?OFX", re.IGNORECASE)

# Statement aggregates: each opens one account's statement. OFC nests STMTRS inside ACCTSTMT.
STATEMENTS = {"STMTRS": None, "CCSTMTRS": "credit_card", "INVSTMTRS": "investment", "ACCTSTMT": None}
ACCOUNT_FROM = {"BANKACCTFROM", "CCACCTFROM", "INVACCTFROM", "ACCTFROM"}
# Aggregates inside a STMTTRN whose fields must not be mistaken for the transaction's own.
TRN_PARTS = {"PAYEE", "CURRENCY", "ORIGCURRENCY", "BANKACCTTO", "CCACCTTO"}
# Always aggregates, even when text follows the tag: the structure must survive junk between tags.
AGGREGATES = {
    "OFX", "OFC", "SIGNONMSGSRSV1", "SONRS", "STATUS", "BANKMSGSRSV1", "CREDITCARDMSGSRSV1",
    "INVSTMTMSGSRSV1", "STMTTRNRS", "CCSTMTTRNRS", "INVSTMTTRNRS", "BANKTRANLIST", "INVTRANLIST",
    "STMTTRN", "LEDGERBAL", "AVAILBAL", "INVBANKTRAN", "ACCTINFORS",
    *STATEMENTS, *ACCOUNT_FROM, *TRN_PARTS,
}  # fmt: skip
MAX_DEPTH = 200  # deeper nesting is junk; keeping it flat bounds the work per closing tag


@dataclass
class _Statement:
    tag: str
    depth: int
    fields: dict[str, str] = field(default_factory=dict)

    def account(self) -> StatementAccount:
        f = self.fields
        acct_type = f.get("ACCTTYPE", "").upper()
        kind = STATEMENTS[self.tag] or ACCOUNT_KIND.get(acct_type)
        balance = parse_amount(f["BALAMT"]) if f.get("BALAMT") else None
        when = f.get("DTASOF") or f.get("DTEND")
        return StatementAccount(
            ref=f.get("ACCTID", ""),
            currency=(f.get("CURDEF") or "").upper() or None,
            bank_id=f.get("BANKID") or f.get("BROKERID"),
            kind=kind,
            closing_balance=balance,
            balance_date=parse_date(when) if when else None,
        )


@dataclass
class _Read:
    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    statements: list[_Statement] = field(default_factory=list)
    statuses: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def _read(text: str, opens: list[tuple[int, int]]) -> _Read:
    """One pass over the tags. A tag followed by text is a leaf (SGML leaves need no end tag); a tag
    followed only by whitespace opens an aggregate, and an end tag closes everything up to its opener.
    Transactions, the bulk of any file, skip this machinery: they are read run by run (see _fields)."""
    out = _Read()
    stack: list[str] = []
    ctx: list[str] = [""]  # innermost known aggregate at each depth, so unknown wrappers are transparent
    stmt: _Statement | None = None
    status: dict[str, str] = {}
    line, last, pos = 1, 0, 0
    fold = _LOWER_TAG.search(text) is not None or any(text[s + 1 : s + 8] != "STMTTRN" for s, _ in opens)
    starts = [start for start, _ in opens]

    def leaf(name: str, value: str) -> None:
        where = ctx[-1]
        if where == "STATUS":
            status.setdefault(name, value)
        elif stmt is not None and (where in ACCOUNT_FROM or where in STATEMENTS or where == "LEDGERBAL"):
            stmt.fields.setdefault("BALAMT" if name == "LEDGER" else name, unescape(value))  # LEDGER: OFC's

    def close_to(depth: int) -> None:
        nonlocal stmt
        del stack[depth:], ctx[depth + 1 :]
        if stmt is not None and len(stack) < stmt.depth:
            stmt = None

    def transactions(k: int) -> int:
        """Read STMTTRN k and those right after it; return where the tag stream resumes."""
        nonlocal line, last
        account = stmt.fields.get("ACCTID") if stmt else None
        currency = stmt.fields.get("CURDEF") if stmt else None
        rows, problems = out.rows, out.problems
        while True:
            start, body = opens[k]
            line += text.count("\n", last, start)
            last = start
            k += 1
            limit = starts[k] if k < len(starts) else len(text)
            fields, resume = _fields(text, body, limit, fold)
            made = build_row(fields, line, account, currency)
            (rows if isinstance(made, Row) else problems).append(made)  # type: ignore[arg-type]
            if k == len(starts) or text.find("<", resume, starts[k]) != -1:
                return resume

    while True:
        just_opened = ""
        for match in TOKEN.finditer(text, pos):
            closing, name, value = match.group(1, 2, 3)
            name = name.upper()
            if closing:
                for i in range(len(stack) - 1, -1, -1):
                    if stack[i] == name:
                        close_to(i)
                        if just_opened == name and name not in AGGREGATES:
                            leaf(name, "")  # <TAG></TAG> is an empty leaf, not an aggregate
                        break
                just_opened = ""
                continue
            just_opened = ""
            if name == "STMTTRN":
                k = bisect_left(starts, match.start())
                if k < len(starts) and starts[k] == match.start():
                    pos = transactions(k)
                    break  # resume the tag stream after the run of transactions
                continue
            stripped = value.strip()
            if stripped and name not in AGGREGATES:
                leaf(name, stripped)
                continue
            if len(stack) >= MAX_DEPTH:
                continue
            if name in STATEMENTS:
                if stmt is None or stmt.tag != "ACCTSTMT":
                    stmt = _Statement(name, len(stack) + 1)
                    out.statements.append(stmt)
            elif name == "STATUS":
                status = {}
                out.statuses.append((ctx[-1], status))
            stack.append(name)
            ctx.append(name if name in AGGREGATES else ctx[-1])
            just_opened = name
        else:
            return out


def _fields(text: str, body: int, limit: int, fold: bool) -> tuple[dict[str, str], int]:
    """A transaction's leaves (values unstripped) and where the tag stream resumes. It ends at </STMTTRN>
    or, when unclosed, at the next tag that cannot belong to it (a balance, a list or statement boundary);
    `limit` is where the next STMTTRN starts."""
    if not fold:
        close = text.find("</STMTTRN>", body, limit)
        if close != -1:
            # The common case, kept to C-level calls: the first value of a tag wins, as in the slow path.
            fields = dict(reversed(_LEAF.findall(text, body, close)))
            if TRN_PARTS.isdisjoint(fields):
                return fields, close + len("</STMTTRN>")
    end_match = _TRN_END[fold].search(text, body, limit)
    end = end_match.start() if end_match else limit
    resume = end_match.end() if end_match and end_match.group(1).upper() == "/STMTTRN" else end
    fields = {}
    part = ""  # PAYEE.NAME must not pass for NAME, nor BANKACCTTO.ACCTID for anything of ours
    for closing, name, value in TOKEN.findall(text, body, end):
        name = name.upper()
        if name in TRN_PARTS:
            part = "" if closing else name
        elif not closing and (value := value.strip()):
            fields.setdefault(f"{part}.{name}" if part else name, value)
    return fields, resume


class OfxParser:
    name = "ofx"

    def sniff(self, data: bytes, filename: str | None = None) -> float:
        by_name = filename is not None and filename.lower().endswith(EXTENSIONS)
        if _HEAD.match(data[:4096]) or _XML_OFX.match(data[:4096]):
            return 1.0
        head = data[:4096].upper()
        if b"<OFX>" in head or b"<OFC>" in head or b"<STMTTRN>" in head:
            return 0.95 if by_name else 0.8
        return 0.6 if by_name else 0.0

    def parse(self, data: bytes, options: Options) -> ParseResult:
        text, encoding = decode(data, options.encoding)
        opens = [(found.start(), found.end()) for found in _STMTTRN.finditer(text)]
        declared = len(opens)
        read = _read(text, opens)
        result = ParseResult(format=self.name, rows=read.rows, problems=read.problems, encoding=encoding)
        result.declared_count = declared
        accounted = len(read.rows) + len(read.problems)  # each unreadable STMTTRN left exactly one problem
        if not read.statements and not read.rows and not read.problems:
            raise _why_empty(text, read)
        result.problems.extend(_status_problems(read))
        securities = _securities(text) if any(s.tag == "INVSTMTRS" for s in read.statements) else []
        if not accounted and read.statements and all(s.tag == "INVSTMTRS" for s in read.statements):
            raise UnreadableFile(
                mark(
                    "this is an investment statement with no cash transactions (and {count} securities "
                    "transactions, which cannot be imported)"
                ),
                values={"count": len(securities)},
            )
        result.problems.extend(securities)
        for stmt in read.statements:
            _add_account(result, stmt)
        if accounted != declared:
            result.problems.append(
                Problem(
                    None,
                    mark("the file holds {declared} STMTTRN blocks but {read} could be read").format(
                        declared=declared, read=accounted
                    ),
                )
            )
        return result


def _add_account(result: ParseResult, stmt: _Statement) -> None:
    account = stmt.account()
    balance = stmt.fields.get("BALAMT")
    if balance and account.closing_balance is None:
        result.problems.append(
            Problem(
                None,
                mark("the closing balance {balance!r} is not a number").format(balance=balance),
                "BALAMT",
                "warning",
            )
        )
    acct_type = stmt.fields.get("ACCTTYPE")
    if acct_type and account.kind is None:
        result.problems.append(
            Problem(None, mark("unknown account type {type!r}").format(type=acct_type), "ACCTTYPE", "warning")
        )
    # One account per ref: a file with two statements of the same account keeps the later balance.
    for i, seen in enumerate(result.accounts):
        if seen.ref == account.ref:
            if account.balance_date and (seen.balance_date is None or account.balance_date >= seen.balance_date):
                result.accounts[i] = account
            return
    result.accounts.append(account)


def _failed(read: _Read) -> list[tuple[str, dict[str, str]]]:
    return [(owner, s) for owner, s in read.statuses if s.get("CODE", "0").strip() not in ("0", "")]


# Whole sentences for each case (sign-on or statement, with the bank's message or without), so each translates.
_REFUSED = {
    (True, False): mark("the bank refused the sign-on (status {code})"),
    (True, True): mark("the bank refused the sign-on (status {code}): {message}"),
    (False, False): mark("the bank refused the statement request (status {code})"),
    (False, True): mark("the bank refused the statement request (status {code}): {message}"),
}


def _why_empty(text: str, read: _Read) -> UnreadableFile:
    for owner, status in _failed(read):
        if status.get("SEVERITY", "ERROR").upper() == "ERROR":
            message = unescape(status.get("MESSAGE", "")).strip()
            said = _REFUSED[owner == "SONRS", bool(message)]
            return UnreadableFile(said, values={"code": status["CODE"], "message": message})
    if "<ACCTINFORS" in text.upper():
        return UnreadableFile(mark("the file holds no statement: it is an account list (ACCTINFORS), not a statement"))
    if not _ROOT.search(text):
        return UnreadableFile(mark("the file is not OFX: it has no <OFX> or <OFC> element"))
    return UnreadableFile(mark("the file holds no statement"))


_REPORTED = mark("the bank reported status {code} for {owner}: {message}")


def _status_problems(read: _Read) -> list[Problem]:
    return [
        Problem(None, _REPORTED.format(code=s["CODE"], owner=owner, message=s.get("MESSAGE", "").strip()), "STATUS",
                "warning")
        for owner, s in _failed(read)
    ]  # fmt: skip


def _securities(text: str) -> list[Problem]:
    """Trades are not cash rows: say which were left out, each at its line, so nothing vanishes silently."""
    return [
        Problem(
            text.count("\n", 0, found.start()) + 1,
            mark("{kind} is a securities transaction; only cash transactions are imported").format(
                kind=found.group(1).upper()
            ),
            found.group(1).upper(),
            "warning",
        )
        for found in _SECURITIES.finditer(text)
    ]


parser = OfxParser()
