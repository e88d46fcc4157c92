"""Import sessions: upload and preview, commit exactly what the preview showed, revert in one action."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.access import BookAccess
from fintrack.imports import dedupe, queries
from fintrack.imports.errors import (
    AlreadyCommitted,
    CannotImportError,
    ChooseStatement,
    ImportNotFound,
    NotCommitted,
    RowNotFound,
    SessionReverted,
)
from fintrack.imports.formats import detect
from fintrack.imports.formats.base import Options, ParseResult, Row, UnreadableFile
from fintrack.imports.models import ImportRow, ImportSession
from fintrack.ledger import service as ledger
from fintrack.ledger.models import Account
from fintrack.money import MoneyError, check_amount
from fintrack.ops.metrics import IMPORT_SESSIONS

FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2199, 12, 31)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
    }
    if row.currency and row.currency != account.currency:
        return values, ("currency", f"the row is in {row.currency}, the account in {account.currency}")
    if not FIRST_DAY <= row.date <= LAST_DAY:
        return values, ("date", f"{row.date.isoformat()} is outside 1900-2199")
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


async def preview(
    session: AsyncSession,
    access: BookAccess,
    account_id: int,
    data: bytes,
    *,
    user_id: int,
    filename: str | None = None,
    fmt: str | None = None,
    statement_account: str | None = None,
    options: Options | None = None,
) -> ImportSession:
    """Parse the file and explain every source row (new, duplicate of which transaction and why, or error)."""
    access.require_write()
    account = await ledger.get_account(session, access, account_id)
    try:
        result = detect.parse(data, filename, fmt, options or Options(locale=access.book.locale))
    except UnreadableFile:
        IMPORT_SESSIONS.labels(fmt or "unknown", "failed").inc()
        raise
    checked = [_checked(r, account) for r in _rows_for(result, statement_account)]
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
    stored: list[dict[str, Any]] = []
    for values, problem in checked:
        if problem is not None:
            stored.append({**values, "status": "error", "field": problem[0], "reason": problem[1]})
            continue
        match, row_key = next(matches)
        if match is None:
            stored.append({**values, "status": "new", "row_key": row_key})
        else:
            stored.append(
                {
                    **values,
                    "status": match.kind,
                    "duplicate_of": match.transaction_id,
                    "reason": match.reason,
                    "score": match.score,
                    "row_key": row_key,
                }
            )
    for issue in result.problems:
        if issue.line is not None and issue.severity == "error":
            stored.append({"line": issue.line, "status": "error", "field": issue.field, "reason": issue.message})
    stored.sort(key=lambda r: r["line"] or 0)
    notices = [
        {"line": p.line, "severity": p.severity, "field": p.field, "message": p.message}
        for p in result.problems
        if p.line is None or p.severity != "error"
    ] + [{"line": None, "severity": "question", "field": None, "message": q} for q in result.questions]
    statuses = ("new", "duplicate", "possible_duplicate", "deleted", "error")
    counts = {s: sum(1 for r in stored if r["status"] == s) for s in statuses}
    imported = ImportSession(
        book_id=access.id,
        account_id=account.id,
        user_id=user_id,
        filename=filename,
        format=result.format,
        encoding=result.encoding,
        file_sha256=hashlib.sha256(data).hexdigest(),
        status="previewed",
        declared_count=result.declared_count,
        notices=notices,
        summary={
            "rows": len(stored),
            "new": counts["new"],
            "duplicates": counts["duplicate"],
            "possible_duplicates": counts["possible_duplicate"],
            "deleted": counts["deleted"],
            "errors": counts["error"],
            "committed": 0,
        },
    )
    session.add(imported)
    await session.flush()
    await queries.add_rows(session, [{"session_id": imported.id, **r} for r in stored])
    IMPORT_SESSIONS.labels(result.format, "previewed").inc()
    return imported


async def get(session: AsyncSession, access: BookAccess, session_id: int, *, lock: bool = False) -> ImportSession:
    found = await queries.import_session(session, access.id, session_id, lock=lock)
    if found is None:
        raise ImportNotFound(import_id=session_id)
    return found


async def commit(session: AsyncSession, access: BookAccess, session_id: int) -> ImportSession:
    """Write the rows the preview marked new, all in the request's one transaction. Twice is a no-op."""
    access.require_write()
    imported = await get(session, access, session_id, lock=True)
    if imported.status == "committed":
        return imported
    if imported.status == "reverted":
        raise SessionReverted(import_id=session_id)
    account = await ledger.get_account(session, access, imported.account_id)
    written = await queries.write_transactions(session, access.id, account.id, account.currency, imported.id)
    await queries.remember_not_duplicates(
        session,
        access.id,
        [(key, dup) for status, key, dup in written if status in ("duplicate", "possible_duplicate") and key and dup],
    )
    imported.summary = {**imported.summary, "committed": len(written)}
    imported.status, imported.committed_at = "committed", _now()
    await session.flush()
    IMPORT_SESSIONS.labels(imported.format, "committed").inc()
    return imported


async def decide(
    session: AsyncSession, access: BookAccess, session_id: int, row_id: int, decision: str | None
) -> ImportRow:
    """Import a row the preview held back (a duplicate, a deleted one), skip a new one, or undo the choice."""
    access.require_write()
    imported = await get(session, access, session_id, lock=True)
    if imported.status != "previewed":
        raise AlreadyCommitted(import_id=session_id, status=imported.status)
    found = await queries.row(session, imported.id, row_id)
    if found is None:
        raise RowNotFound(row_id=row_id)
    if found.status == "error" and decision == "import":
        raise CannotImportError(field="decision", reason=found.reason)
    found.decision = decision
    await session.flush()
    return found


async def revert(session: AsyncSession, access: BookAccess, session_id: int) -> tuple[ImportSession, int, list[int]]:
    """Remove everything the session added, also rows edited since, which are reported."""
    access.require_write()
    imported = await get(session, access, session_id, lock=True)
    if imported.status == "reverted":
        return imported, 0, []
    if imported.status != "committed" or imported.committed_at is None:
        raise NotCommitted(import_id=session_id)
    written = await queries.committed_transactions(session, access.id, imported.id)
    edited = sorted(i for i, updated in written if updated > imported.committed_at)
    removed = await queries.delete_committed(session, access.id, imported.id)
    imported.status, imported.reverted_at = "reverted", _now()
    await session.flush()
    IMPORT_SESSIONS.labels(imported.format, "reverted").inc()
    return imported, removed, edited
