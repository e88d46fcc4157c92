"""SQL of the imports domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.db import copy_rows
from fintrack.imports.dedupe import Existing
from fintrack.imports.models import ImportRow, ImportSession, NotDuplicate
from fintrack.transactions.models import Tombstone, Transaction


async def existing_between(session: AsyncSession, account_id: int, first: dt.date, last: dt.date) -> list[Existing]:
    """What the account already holds over the file's dates: the candidates a row could duplicate."""
    rows = await session.execute(
        select(Transaction.id, Transaction.date, Transaction.amount, Transaction.description, Transaction.external_id)
        .where(Transaction.account_id == account_id, Transaction.date >= first, Transaction.date <= last)
        .order_by(Transaction.id)
    )
    return [Existing(*row) for row in rows]


async def tombstones_between(session: AsyncSession, account_id: int, first: dt.date, last: dt.date) -> list[Existing]:
    rows = await session.execute(
        select(Tombstone.id, Tombstone.date, Tombstone.amount, Tombstone.description, Tombstone.external_id)
        .where(Tombstone.account_id == account_id, Tombstone.date >= first, Tombstone.date <= last)
        .order_by(Tombstone.id)
    )
    return [Existing(*row) for row in rows]


async def not_duplicates(session: AsyncSession, book_id: int, transaction_ids: list[int]) -> frozenset[tuple[str, int]]:
    if not transaction_ids:
        return frozenset()
    rows = await session.execute(
        select(NotDuplicate.row_key, NotDuplicate.transaction_id).where(
            NotDuplicate.book_id == book_id, NotDuplicate.transaction_id.in_(transaction_ids)
        )
    )
    return frozenset((row[0], row[1]) for row in rows)


async def remember_not_duplicates(session: AsyncSession, book_id: int, pairs: list[tuple[str, int]]) -> None:
    if pairs:
        statement = pg_insert(NotDuplicate).on_conflict_do_nothing()
        await session.execute(statement, [{"book_id": book_id, "row_key": k, "transaction_id": t} for k, t in pairs])


async def row(session: AsyncSession, session_id: int, row_id: int) -> ImportRow | None:
    return await session.scalar(select(ImportRow).where(ImportRow.id == row_id, ImportRow.session_id == session_id))


ROW_COLUMNS = (
    "session_id",
    "line",
    "status",
    "date",
    "amount",
    "description",
    "payee",
    "memo",
    "external_id",
    "duplicate_of",
    "reason",
    "score",
    "field",
    "row_key",
)


async def add_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await copy_rows(session, "import_rows", ROW_COLUMNS, (tuple(r.get(c) for c in ROW_COLUMNS) for r in rows))


async def import_session(
    session: AsyncSession, book_id: int, session_id: int, *, lock: bool = False
) -> ImportSession | None:
    query = select(ImportSession).where(ImportSession.id == session_id, ImportSession.book_id == book_id)
    # Commit and revert lock the session row: two clicks on "commit" must not write the rows twice.
    return await session.scalar(query.with_for_update() if lock else query)


async def sessions(session: AsyncSession, book_id: int, limit: int) -> list[ImportSession]:
    query = select(ImportSession).where(ImportSession.book_id == book_id).order_by(ImportSession.id.desc())
    return list(await session.scalars(query.limit(limit)))


async def rows(
    session: AsyncSession, session_id: int, status: str | None, after_id: int | None, limit: int
) -> list[ImportRow]:
    query = select(ImportRow).where(ImportRow.session_id == session_id)
    if status:
        query = query.where(ImportRow.status == status)
    if after_id:
        query = query.where(ImportRow.id > after_id)
    return list(await session.scalars(query.order_by(ImportRow.id).limit(limit)))


async def rows_to_write(session: AsyncSession, session_id: int) -> list[ImportRow]:
    """New rows the user did not skip, and duplicates or deleted ones the user chose to import."""
    wanted = or_(
        and_(ImportRow.status == "new", or_(ImportRow.decision.is_(None), ImportRow.decision != "skip")),
        and_(ImportRow.status.in_(("duplicate", "deleted")), ImportRow.decision == "import"),
    )
    query = select(ImportRow).where(ImportRow.session_id == session_id, wanted)
    return list(await session.scalars(query.order_by(ImportRow.id)))


# One statement for any number of rows: an UPDATE per row would cost more than writing the transactions.
_LINK = text(
    "UPDATE import_rows r SET transaction_id = p.tx FROM unnest(CAST(:rows AS bigint[]), CAST(:txs AS bigint[])) "
    "AS p(row_id, tx) WHERE r.id = p.row_id"
)


async def link_rows(session: AsyncSession, pairs: Sequence[tuple[int, int]]) -> None:
    if pairs:
        await session.execute(_LINK, {"rows": [p[0] for p in pairs], "txs": [p[1] for p in pairs]})


async def committed_transactions(session: AsyncSession, book_id: int, session_id: int) -> list[tuple[int, dt.datetime]]:
    result = await session.execute(
        select(Transaction.id, Transaction.updated_at).where(
            Transaction.book_id == book_id, Transaction.import_session_id == session_id
        )
    )
    return [(row[0], row[1]) for row in result]


async def delete_committed(session: AsyncSession, book_id: int, session_id: int) -> int:
    result = await session.execute(
        delete(Transaction).where(Transaction.book_id == book_id, Transaction.import_session_id == session_id)
    )
    await session.execute(update(ImportRow).where(ImportRow.session_id == session_id).values(transaction_id=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
