"""Background steps of an import session: explain a large upload, commit a large preview."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.access import access
from fintrack.errors import DomainError, error_body, mark
from fintrack.imports import events as import_events
from fintrack.imports import explain, queries
from fintrack.imports import service as imports
from fintrack.imports.models import ImportSession
from fintrack.jobs import JobContext, task
from fintrack.ledger import service as ledger
from fintrack.ops.metrics import IMPORT_SESSIONS

log = structlog.get_logger("fintrack.imports")


def _progress(ctx: JobContext, session_id: int) -> explain.Progress:
    """Progress is written in its own short transactions, so the API shows it while the job's own one is open."""

    async def report(stage: str, done: int, total: int) -> None:
        async with ctx.db.transaction() as session:
            await queries.set_progress(session, session_id, {"stage": stage, "done": done, "total": total})
            imported = await queries.import_session_by_id(session, session_id)
            if imported is not None:
                await import_events.progress(session, imported, stage, done, total)

    return report


async def _failed(ctx: JobContext, session_id: int, status: str, exc: DomainError) -> None:
    async with ctx.db.transaction() as session:
        body = error_body(exc.code, exc.message, exc.details)
        await queries.set_failed(session, session_id, status, body)
        imported = await queries.import_session_by_id(session, session_id)
        if imported is not None:
            await import_events.reached(session, imported)


@task(name="imports.preview", queue="imports")
async def preview(ctx: JobContext, session_id: int) -> dict[str, Any] | None:
    """Explain a queued upload. A file that cannot be read fails the session with the error a request would get."""
    try:
        async with ctx.db.transaction() as session:
            imported = await queries.import_session_by_id(session, session_id)
            if imported is None or imported.status != "queued":
                return None  # reverted, deleted or already explained by an earlier run
            data = await queries.file_bytes(session, session_id)
            book = await _access(session, imported)
            account = await ledger.get_account(session, book, imported.account_id)
            assert data is not None, "a queued session keeps its file"
            changes = await explain.explain(session, book, account, imported, data, progress=_progress(ctx, session_id))
            for name, value in changes.items():
                setattr(imported, name, value)
            await session.flush()
            summary = dict(imported.summary)
            await import_events.reached(session, imported)  # last: it locks the user's event channel
        IMPORT_SESSIONS.labels(imported.format, "previewed").inc()
        return summary
    except DomainError as exc:
        await _failed(ctx, session_id, "failed", exc)
        IMPORT_SESSIONS.labels("unknown", "failed").inc()
        log.info("import failed", session_id=session_id, code=exc.code)
        return None


@task(name="imports.commit", queue="imports")
async def commit(ctx: JobContext, session_id: int) -> dict[str, Any] | None:
    """Write a preview the user committed, in one transaction: a crash leaves it previewed, never half written."""
    try:
        async with ctx.db.transaction() as session:
            imported = await queries.import_session_by_id(session, session_id, lock=True)
            if imported is None or imported.status != "committing":
                return None
            book = await _access(session, imported)
            await imports.write(session, book, imported)
            await import_events.reached(session, imported)  # last: it locks the user's event channel
            return dict(imported.summary)
    except DomainError as exc:
        # Back to previewed, with the reason: the user may fix what stopped it (a deleted account) and retry.
        await _failed(ctx, session_id, "previewed", exc)
        return None


async def _access(session: AsyncSession, imported: ImportSession):  # type: ignore[no-untyped-def]
    if imported.user_id is None:
        raise DomainError(mark("the user who uploaded this file no longer exists"))
    return await access(session, imported.user_id, imported.book_id, None)
