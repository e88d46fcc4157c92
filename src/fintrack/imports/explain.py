"""The preview's work, in a request or a job: parse the upload, then explain every source row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.access import BookAccess
from fintrack.errors import mark
from fintrack.imports import categories, dedupe, profiles, queries, transfers
from fintrack.imports.errors import ChooseStatement
from fintrack.imports.formats import detect
from fintrack.imports.formats.base import Options, ParseResult, Row
from fintrack.imports.formats.csv import CsvParser
from fintrack.imports.formats.csv_profiles import CsvProfile
from fintrack.imports.models import ImportSession
from fintrack.ledger.models import Account
from fintrack.money import MoneyError, check_amount

FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2199, 12, 31)
STATUSES = ("new", "transfer", "duplicate", "possible_duplicate", "deleted", "error")


def _clip(text: str | None, size: int) -> str | None:
    text = (text or "").strip()
    return text[:size] or None


def _checked(row: Row, account: Account) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """The row as it will be written, or the (field, message) that stops it being written."""
    values = {
        "line": row.line,
        "date": row.date,
        "amount": row.amount,
        "description": _clip(row.description, 2000) or "",
        "payee": _clip(row.payee, 200),
        "memo": _clip(row.memo, 2000),
        "external_id": _clip(row.external_id, 255),
        "source_category": row.category,  # not stored: categories.propose maps it to one of the book's
    }
    if row.currency and row.currency != account.currency:
        said = mark("the row is in {row}, the account in {account}")
        return values, ("currency", said.format(row=row.currency, account=account.currency))
    if not FIRST_DAY <= row.date <= LAST_DAY:
        return values, ("date", mark("{date} is outside 1900-2199").format(date=row.date.isoformat()))
    try:
        values["amount"] = check_amount(row.amount, account.currency)
    except MoneyError as exc:
        return values, ("amount", str(exc))
    return values, None


def _rows_for(result: ParseResult, statement_account: str | None) -> list[Row]:
    refs = sorted({r.account for r in result.rows if r.account})
    if statement_account is not None:
        return [r for r in result.rows if r.account == statement_account]
    if len(refs) > 1:
        raise ChooseStatement(field="statement_account", accounts=refs)
    return result.rows


Progress = Callable[[str, int, int], Awaitable[None]]  # (stage, done, total)


async def silent(stage: str, done: int, total: int) -> None:
    return None


async def parse(
    session: AsyncSession,
    access: BookAccess,
    imported: ImportSession,
    data: bytes,
    profile: CsvProfile | None,
    changes: dict[str, Any],
) -> ParseResult:
    """Parse with the format asked for or detected; a CSV is read with the book's saved mapping for its header."""
    opts = imported.options
    options = Options(date_order=opts.get("date_order"), locale=access.book.locale)
    parser = detect.choose(data, imported.filename, opts.get("format"))
    if parser.name != "csv":
        return parser.parse(data, options)
    saved = await profiles.saved(session, access.id)
    csv = CsvParser([p for _, p in saved.values()])
    result, layout = csv.read(data, options, profile)
    changes["options"] = {**opts, "csv": profiles.layout_json(layout)}
    if layout.profile.header in saved and profile is None:
        profile_id, used = saved[layout.profile.header]
        if used == layout.profile:
            changes["profile_id"] = profile_id
            await queries.profile_used(session, profile_id)
    return result


async def explain(
    session: AsyncSession,
    access: BookAccess,
    account: Account,
    imported: ImportSession,
    data: bytes,
    profile: CsvProfile | None = None,
    progress: Progress = silent,
) -> dict[str, Any]:
    """Parse the file and explain every source row: new, transfer, duplicate of which transaction and why, or error;
    with the category each would get. The rows are stored; nothing touches the ledger.

    Returns the session's new attribute values instead of setting them: a background job reports progress on the
    session's row from other transactions, which must not wait on a lock this one took by updating it early.
    """
    changes: dict[str, Any] = {}
    await progress("reading", 0, len(data))
    result = await parse(session, access, imported, data, profile, changes)
    await progress("explaining", 0, len(result.rows))
    checked = [_checked(r, account) for r in _rows_for(result, imported.options.get("statement_account"))]
    good = [v for v, problem in checked if problem is None]
    existing: list[dedupe.Existing] = []
    dead: list[dedupe.Existing] = []
    if good:
        # A few days wider than the file: a twin entered by hand may sit just outside the statement's dates.
        margin = dt.timedelta(days=dedupe.FUZZY_DAYS)
        first, last = min(v["date"] for v in good) - margin, max(v["date"] for v in good) + margin
        existing = await queries.existing_between(session, account.id, first, last)
        dead = await queries.tombstones_between(session, account.id, first, last)
    remembered = await queries.not_duplicates(session, access.id, [e.id for e in existing])
    keys = [(v["date"], v["amount"], v["description"], v["external_id"]) for v in good]
    matches = iter(dedupe.classify(keys, existing, dead, remembered))
    # Each checked row's dict becomes its stored row, updated in place: a copy per row doubled the peak memory.
    stored: list[dict[str, Any]] = []
    for values, problem in checked:
        stored.append(values)
        if problem is not None:
            values.update(status="error", field=problem[0], reason=problem[1])
            continue
        match, row_key = next(matches)
        values["row_key"] = row_key
        if match is None:
            values["status"] = "new"
        else:
            values.update(status=match.kind, duplicate_of=match.transaction_id, reason=match.reason, score=match.score)
    # The parsed rows are in `stored` now: a 100,000-row file would be held twice over.
    result.rows.clear()
    del checked, good, keys, existing, dead, matches
    await progress("transfers", len(stored), len(stored))
    await _pair_transfers(session, access, account, stored)
    await progress("categories", len(stored), len(stored))
    await categories.propose(session, access, account, stored)
    for issue in result.problems:
        if issue.line is not None and issue.severity == "error":
            stored.append({"line": issue.line, "status": "error", "field": issue.field, "reason": issue.message})
    stored.sort(key=lambda r: r["line"] or 0)
    await progress("storing", len(stored), len(stored))
    await queries.add_rows(session, [{"session_id": imported.id, **r} for r in stored])
    notices = [
        {"line": p.line, "severity": p.severity, "field": p.field, "message": p.message}
        for p in result.problems
        if p.line is None or p.severity != "error"
    ] + [{"line": None, "severity": "question", "field": None, "message": q} for q in result.questions]
    return {
        **changes,
        "format": result.format,
        "encoding": result.encoding,
        "declared_count": result.declared_count,
        "notices": notices,
        "summary": summary(stored),
        "status": "previewed",
        "progress": None,
        "error": None,
    }


def summary(stored: list[dict[str, Any]]) -> dict[str, int]:
    counts = {s: sum(1 for r in stored if r["status"] == s) for s in STATUSES}
    proposed = [r for r in stored if r.get("category_id") is not None]
    return {
        "rows": len(stored),
        "new": counts["new"],
        "transfers": counts["transfer"],
        "duplicates": counts["duplicate"],
        "possible_duplicates": counts["possible_duplicate"],
        "deleted": counts["deleted"],
        "errors": counts["error"],
        "categorized": sum(1 for r in proposed if r.get("apply_category")),
        "suggested": sum(1 for r in proposed if not r.get("apply_category")),
        "committed": 0,
    }


async def _pair_transfers(
    session: AsyncSession, access: BookAccess, account: Account, stored: list[dict[str, Any]]
) -> None:
    """Mark new rows that complete a transaction already recorded in another of the book's accounts."""
    fresh = [r for r in stored if r["status"] == "new"]
    if not fresh:
        return
    margin = dt.timedelta(days=transfers.WINDOW_DAYS)
    first, last = min(r["date"] for r in fresh) - margin, max(r["date"] for r in fresh) + margin
    amounts = sorted({-r["amount"] for r in fresh})
    candidates = await queries.transfer_candidates(session, access.id, account, first, last, amounts)
    if not candidates:
        return
    found = transfers.pair([(r["date"], r["amount"], r["description"]) for r in fresh], candidates, account.name)
    for r, pairing in zip(fresh, found, strict=True):
        if pairing is not None:
            r.update(status="transfer", transfer_with=pairing.transaction_id, reason=pairing.reason)
            r["score"] = pairing.score
