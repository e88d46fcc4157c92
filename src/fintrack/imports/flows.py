"""The command line's import: find the user's book and account (creating the account), preview, commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.auth import queries as users
from fintrack.auth.models import User
from fintrack.books.access import access
from fintrack.categorize import service as categorize
from fintrack.errors import NotFound
from fintrack.imports import queries
from fintrack.imports import service as imports
from fintrack.imports.explain import Progress
from fintrack.imports.schemas import ImportRowOut
from fintrack.ledger import queries as ledger_queries
from fintrack.ledger import service as ledger
from fintrack.ledger.models import AccountType


async def _user(session: AsyncSession, email: str | None) -> User:
    if email is not None:
        user = await users.user_by_email(session, email)
        if user is None:
            raise NotFound(f"no user {email}")
        return user
    # Without --user: the first administrator, or the first user on a single-user install.
    found = await session.scalar(select(User).order_by(User.is_admin.desc(), User.id).limit(1))
    if found is None:
        raise NotFound("there are no users yet: run `fintrack user create EMAIL` first")
    return found


async def import_from_cli(
    session: AsyncSession,
    data: bytes,
    filename: str,
    *,
    account: str,
    user_email: str | None,
    currency: str | None,
    fmt: str | None,
    statement_account: str | None,
    commit: bool,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    user = await _user(session, user_email)
    book = await access(session, user.id, None, user.default_book_id)
    target = await ledger_queries.account_by_name(session, book.id, account)
    if target is None:
        target = await ledger.create_account(session, book, account, AccountType.checking, currency, "0")
    imported = await imports.preview(
        session,
        book,
        target.id,
        data,
        user_id=user.id,
        filename=filename,
        fmt=fmt,
        statement_account=statement_account,
        progress=progress,
    )
    if commit:
        if progress:
            await progress("committing", 0, imported.summary["rows"])
        imported = await imports.commit(session, book, imported.id)
        if progress:
            await progress("learning", imported.summary["committed"], imported.summary["committed"])
        # No worker runs beside a command: learn from what was just written before the command ends.
        await categorize.embed_missing(session, book.id)
    names = {c.id: c.name for c in await ledger.categories(session, book)}
    lines = [
        {
            "line": r.line,
            "status": r.status,
            "amount": o.amount,
            "date": o.date.isoformat() if o.date else None,
            "description": r.description,
            "duplicate_of": r.duplicate_of,
            "reason": r.reason,
            "transfer_with": r.transfer_with,
            "suggested_category": names.get(r.category_id) if r.category_id else None,
            "category_source": r.category_source,
            "confidence": o.confidence,
            "applied": r.apply_category,
        }
        for r in await queries.rows(session, imported.id, None, None, 10**9)
        for o in [ImportRowOut.of(r)]
    ]
    summary = {
        "session": imported.id,
        "format": imported.format,
        "account": target.name,
        **imported.summary,
        "status": imported.status,
        "notices": imported.notices,
    }
    return summary, lines
