"""SQL of the imports domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, any_, bindparam, delete, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
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
    # One array parameter: IN (...) would bind one parameter per transaction, past PostgreSQL's 65,535 limit
    # when a large statement is imported again.
    ids = bindparam("ids", transaction_ids, type_=ARRAY(BigInteger))
    rows = await session.execute(
        select(NotDuplicate.row_key, NotDuplicate.transaction_id).where(
            NotDuplicate.book_id == book_id, NotDuplicate.transaction_id == any_(ids)
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


# Commit in two statements that never bring the rows back to Python. This is the one place the imports domain
# writes the ledger's tables itself: shipping 100,000 checked rows out and back in cost more than writing them.
_WANTED = """(r.status = 'new' AND (r.decision IS NULL OR r.decision <> 'skip'))
          OR (r.status IN ('duplicate', 'possible_duplicate', 'deleted') AND r.decision = 'import')"""
_NEW_PAYEES = text(f"""
INSERT INTO payees (book_id, name)
SELECT DISTINCT ON (lower(r.payee)) :book_id, r.payee FROM import_rows r
WHERE r.session_id = :session_id AND r.payee IS NOT NULL AND ({_WANTED})
ORDER BY lower(r.payee), r.id
ON CONFLICT (book_id, lower(name)) DO NOTHING
""")  # noqa: S608 - _WANTED is a constant of this module; every value is a bound parameter
_WRITE = text(f"""
WITH src AS (
    SELECT r.id AS row_id, nextval(pg_get_serial_sequence('transactions', 'id')::regclass) AS tx_id,
           r.line, r.date, r.amount, r.description, r.memo, r.external_id, p.id AS payee_id
    FROM import_rows r
    LEFT JOIN payees p ON p.book_id = :book_id AND lower(p.name) = lower(r.payee)
    WHERE r.session_id = :session_id AND ({_WANTED})
), written AS (
    INSERT INTO transactions (id, book_id, account_id, date, amount, currency, payee_id, description, memo,
                              external_id, import_session_id, source_line)
    SELECT tx_id, :book_id, :account_id, date, amount, :currency, payee_id, coalesce(description, ''), memo,
           external_id, :session_id, line
    FROM src
)
UPDATE import_rows r SET transaction_id = src.tx_id FROM src WHERE r.id = src.row_id
RETURNING r.status, r.row_key, r.duplicate_of
""")  # noqa: S608 - _WANTED is a constant of this module; every value is a bound parameter


async def write_transactions(
    session: AsyncSession, book_id: int, account_id: int, currency: str, session_id: int
) -> list[tuple[str, str | None, int | None]]:
    """Write the rows to import as transactions, link each row to its transaction; (status, row_key, dup) each."""
    params = {"book_id": book_id, "account_id": account_id, "currency": currency, "session_id": session_id}
    await session.execute(_NEW_PAYEES, params)
    return [(row[0], row[1], row[2]) for row in await session.execute(_WRITE, params)]
