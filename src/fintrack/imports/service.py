"""Import sessions: upload and preview, commit exactly what the preview showed, revert in one action."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack import jobs
from fintrack.books.access import BookAccess
from fintrack.budgets import flows as budget_flows
from fintrack.imports import explain, profiles, queries
from fintrack.imports.errors import (
    AlreadyCommitted,
    CannotImportError,
    ImportNotFound,
    NotCommitted,
    NotCsv,
    NotPreviewed,
    ProfileNotFound,
    RowNotFound,
    SessionReverted,
)
from fintrack.imports.formats.base import UnreadableFile
from fintrack.imports.models import ImportRow, ImportSession
from fintrack.ledger import service as ledger
from fintrack.ops.metrics import IMPORT_SESSIONS
from fintrack.recurring import flows as recurring_flows
from fintrack.rules import service as rules


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _require_previewed(imported: ImportSession) -> None:
    """Rows are decided, categorized and remapped between the preview and the commit, and only then."""
    if imported.status in ("committed", "committing", "reverted"):
        raise AlreadyCommitted(import_id=imported.id, status=imported.status)
    if imported.status != "previewed":
        raise NotPreviewed(import_id=imported.id, status=imported.status)


def _apply(imported: ImportSession, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        setattr(imported, name, value)


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
    date_order: str | None = None,
    background: bool = False,
    progress: explain.Progress | None = None,
) -> ImportSession:
    """Keep the upload and explain every source row (explain.py); nothing is written to the ledger.

    In the background the session is returned queued, and a worker explains it (imports/tasks.py).
    """
    access.require_write()
    account = await ledger.get_account(session, access, account_id)
    imported = ImportSession(
        book_id=access.id,
        account_id=account.id,
        user_id=user_id,
        filename=filename,
        format=fmt or "unknown",
        file_sha256=hashlib.sha256(data).hexdigest(),
        status="queued" if background else "parsing",
        options={"format": fmt, "statement_account": statement_account, "date_order": date_order},
        summary=explain.summary([]),
        notices=[],
    )
    session.add(imported)
    await session.flush()
    # Kept until commit: a worker reads it, and a new column mapping reads the file again.
    await queries.store_file(session, imported.id, data)
    if background:
        imported.progress = {"stage": "queued", "done": 0, "total": len(data)}
        # One lock per session: a retried or duplicated job never explains the same upload twice at once.
        await jobs.defer(session, "imports.preview", lock=f"import:{imported.id}", session_id=imported.id)
        await session.flush()
        return imported
    try:
        _apply(
            imported,
            await explain.explain(session, access, account, imported, data, progress=progress or explain.silent),
        )
    except UnreadableFile:
        IMPORT_SESSIONS.labels(fmt or "unknown", "failed").inc()
        raise
    await session.flush()
    IMPORT_SESSIONS.labels(imported.format, "previewed").inc()
    return imported


async def remap(
    session: AsyncSession, access: BookAccess, session_id: int, mapping: dict[str, Any], *, save: bool
) -> ImportSession:
    """Read the CSV again with the user's column mapping, explain its rows afresh, and save the mapping for the
    next file with the same header."""
    access.require_write()
    imported = await get(session, access, session_id, lock=True)
    _require_previewed(imported)
    detected = imported.options.get("csv")
    data = await queries.file_bytes(session, imported.id)
    if imported.format != "csv" or detected is None or data is None:
        raise NotCsv(format=imported.format)
    profile = profiles.remapped(detected, mapping)
    account = await ledger.get_account(session, access, imported.account_id)
    await queries.drop_rows(session, imported.id)
    _apply(imported, await explain.explain(session, access, account, imported, data, profile))
    if save:
        imported.profile_id = (await profiles.save(session, access.id, profile)).id
    await session.flush()
    return imported


async def get(session: AsyncSession, access: BookAccess, session_id: int, *, lock: bool = False) -> ImportSession:
    found = await queries.import_session(session, access.id, session_id, lock=lock)
    if found is None:
        raise ImportNotFound(import_id=session_id)
    return found


async def commit(
    session: AsyncSession, access: BookAccess, session_id: int, *, background: bool = False
) -> ImportSession:
    """Write the rows the preview marked new, all in one transaction. Twice is a no-op.

    In the background the session is returned `committing` and a worker writes it, still in one transaction.
    """
    access.require_write()
    imported = await get(session, access, session_id, lock=True)
    if imported.status in ("committed", "committing"):
        return imported
    if imported.status == "reverted":
        raise SessionReverted(import_id=session_id)
    if imported.status != "previewed":
        raise NotPreviewed(import_id=session_id, status=imported.status)
    if background:
        imported.status, imported.progress = "committing", {"stage": "queued", "done": 0, "total": 1}
        await jobs.defer(session, "imports.commit", lock=f"import:{imported.id}", session_id=imported.id)
        await session.flush()
        return imported
    return await write(session, access, imported)


async def write(session: AsyncSession, access: BookAccess, imported: ImportSession) -> ImportSession:
    """The commit itself, on a session row the caller has locked."""
    account = await ledger.get_account(session, access, imported.account_id)
    written = await queries.write_transactions(session, access.id, account.id, account.currency, imported.id)
    await rules.record_hits(session, access.id, await queries.rule_hits(session, imported.id))
    await queries.remember_not_duplicates(
        session,
        access.id,
        [(key, dup) for status, key, dup in written if status in ("duplicate", "possible_duplicate") and key and dup],
    )
    await queries.drop_file(session, imported.id)
    imported.summary = {**imported.summary, "committed": len(written)}
    imported.status, imported.committed_at, imported.progress = "committed", _now(), None
    await learn_later(session, access.id)
    await recurring_flows.history_grew(session, access.id)
    await session.flush()
    await budget_flows.import_committed(session, access.id, imported.id)
    IMPORT_SESSIONS.labels(imported.format, "committed").inc()
    return imported


async def learn_later(session: AsyncSession, book_id: int) -> None:
    """Have a worker store the new transactions' vectors: computing 100,000 of them would double the commit."""
    try:
        # lock: one run per book at a time (two would compute the same vectors); queueing_lock: one waiting.
        lock = f"embed:{book_id}"
        await jobs.defer(session, "categorize.embed", lock=lock, queueing_lock=lock, book_id=book_id)
    except jobs.JobAlreadyQueued:
        pass  # the job already waiting embeds every transaction that lacks a vector, these included


async def _editable_row(session: AsyncSession, access: BookAccess, session_id: int, row_id: int) -> ImportRow:
    """A row of a previewed session, with the session locked: edits wait for a commit in progress, not race it."""
    access.require_write()
    imported = await get(session, access, session_id, lock=True)
    _require_previewed(imported)
    found = await queries.row(session, imported.id, row_id)
    if found is None:
        raise RowNotFound(row_id=row_id)
    return found


async def decide(
    session: AsyncSession, access: BookAccess, session_id: int, row_id: int, decision: str | None
) -> ImportRow:
    """Import a row the preview held back (a duplicate, a deleted one), skip a new one, or undo the choice."""
    found = await _editable_row(session, access, session_id, row_id)
    if found.status == "error" and decision == "import":
        raise CannotImportError(field="decision", reason=found.reason)
    found.decision = decision
    await session.flush()
    return found


async def set_category(
    session: AsyncSession, access: BookAccess, session_id: int, row_id: int, category_id: int | None
) -> ImportRow:
    """The user's choice wins over rules and suggestions: commit sets exactly this category (or none)."""
    found = await _editable_row(session, access, session_id, row_id)
    if category_id is not None:
        await ledger.get_category(session, access, category_id)
    found.category_id, found.category_source, found.confidence = category_id, "user", None
    found.apply_category, found.rule_id, found.splits = category_id is not None, None, None
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
    months = await budget_flows.import_months(session, access.id, imported.id)  # read before the rows go
    removed = await queries.delete_committed(session, access.id, imported.id)
    imported.status, imported.reverted_at = "reverted", _now()
    await session.flush()
    await budget_flows.spending_changed(session, access.id, months)  # refunds removed raise spending
    IMPORT_SESSIONS.labels(imported.format, "reverted").inc()
    return imported, removed, edited


async def delete_profile(session: AsyncSession, access: BookAccess, profile_id: int) -> None:
    access.require_write()
    found = await queries.profile(session, access.id, profile_id)
    if found is None:
        raise ProfileNotFound(profile_id=profile_id)
    await session.delete(found)
    await session.flush()
