"""SQL of the imports domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import BigInteger, any_, bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.db import copy_rows
from fintrack.imports.dedupe import Existing
from fintrack.imports.models import ImportFile, ImportProfile, ImportRow, ImportSession, NotDuplicate
from fintrack.imports.transfers import Candidate
from fintrack.ledger.models import AMOUNT, Account
from fintrack.transactions.models import Tombstone, Transaction, Transfer


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


async def transfer_candidates(
    session: AsyncSession, book_id: int, account: Account, first: dt.date, last: dt.date, amounts: list[Decimal]
) -> list[Candidate]:
    """Transactions of the book's other accounts in the same currency that could be the far side of a row."""
    if not amounts:
        return []
    rows = await session.execute(
        select(
            Transaction.id,
            Transaction.account_id,
            Account.name,
            Transaction.date,
            Transaction.amount,
            Transaction.description,
        )
        .join(Account, Account.id == Transaction.account_id)
        .where(
            Transaction.book_id == book_id,
            Transaction.account_id != account.id,
            Transaction.currency == account.currency,
            Transaction.transfer_id.is_(None),
            Transaction.date >= first,
            Transaction.date <= last,
            Transaction.amount == any_(bindparam("amounts", amounts, type_=ARRAY(AMOUNT))),
        )
        .order_by(Transaction.date, Transaction.id)
    )
    return [Candidate(*row) for row in rows]


async def not_duplicates(session: AsyncSession, book_id: int, transaction_ids: list[int]) -> frozenset[tuple[str, int]]:
    if not transaction_ids:
        return frozenset()
    # The user's "not a duplicate" answers are few, so the book's are read whole and filtered here: sending the
    # ids of 100,000 candidate transactions to the server cost a second on a large re-import.
    wanted = set(transaction_ids)
    rows = await session.execute(
        select(NotDuplicate.row_key, NotDuplicate.transaction_id).where(NotDuplicate.book_id == book_id)
    )
    return frozenset((row[0], row[1]) for row in rows if row[1] in wanted)


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
    "category_id",
    "confidence",
    "category_source",
    "rule_id",
    "apply_category",
    "tag_ids",
    "splits",
    "transfer_with",
)


_APPLY, _SPLITS_AT = ROW_COLUMNS.index("apply_category"), ROW_COLUMNS.index("splits")


def _copy_values(row: dict[str, Any]) -> tuple[Any, ...]:
    values = list(map(row.get, ROW_COLUMNS))  # map over dict.get: 100,000 rows x 22 columns add up
    values[_APPLY] = bool(values[_APPLY])
    if values[_SPLITS_AT] is not None:
        values[_SPLITS_AT] = Jsonb(values[_SPLITS_AT])
    return tuple(values)


async def add_rows(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await copy_rows(session, "import_rows", ROW_COLUMNS, map(_copy_values, rows))


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
    """Delete the session's transactions; a transfer one of them took part in goes too, its far leg stays."""
    mine = (Transaction.book_id == book_id) & (Transaction.import_session_id == session_id)
    transfer_ids = list(
        await session.scalars(select(Transaction.transfer_id).where(mine, Transaction.transfer_id.is_not(None)))
    )
    if transfer_ids:
        ids = bindparam("transfer_ids", transfer_ids, type_=ARRAY(BigInteger))
        await session.execute(
            update(Transaction)
            .where(
                Transaction.book_id == book_id,
                Transaction.transfer_id == any_(ids),
                Transaction.import_session_id.is_distinct_from(session_id),
            )
            .values(transfer_id=None)
        )
    result = await session.execute(delete(Transaction).where(mine))
    if transfer_ids:
        await session.execute(delete(Transfer).where(Transfer.book_id == book_id, Transfer.id == any_(ids)))
    await session.execute(update(ImportRow).where(ImportRow.session_id == session_id).values(transaction_id=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# Commit in a few statements that never bring the rows back to Python. This is the one place the imports domain
# writes the ledger's tables itself: shipping 100,000 checked rows out and back in cost more than writing them.
_WANTED = """(r.status IN ('new', 'transfer') AND (r.decision IS NULL OR r.decision <> 'skip'))
          OR (r.status IN ('duplicate', 'possible_duplicate', 'deleted') AND r.decision = 'import')"""
_NEW_PAYEES = text(f"""
INSERT INTO payees (book_id, name)
SELECT DISTINCT ON (lower(r.payee)) :book_id, r.payee FROM import_rows r
WHERE r.session_id = :session_id AND r.payee IS NOT NULL AND ({_WANTED})
ORDER BY lower(r.payee), r.id
ON CONFLICT (book_id, lower(name)) DO NOTHING
""")  # noqa: S608 - _WANTED is a constant of this module; every value is a bound parameter
# A category is set only when the preview said it applies, and only if it still exists (it may have been
# deleted since the preview); a transfer or a split carries no category of its own.
_WRITE = text(f"""
WITH src AS (
    SELECT r.id AS row_id, nextval(pg_get_serial_sequence('transactions', 'id')::regclass) AS tx_id,
           r.line, r.date, r.amount, r.description, r.memo, r.external_id, p.id AS payee_id,
           CASE WHEN r.apply_category AND r.splits IS NULL AND r.status <> 'transfer' THEN c.id END AS category_id
    FROM import_rows r
    LEFT JOIN payees p ON p.book_id = :book_id AND lower(p.name) = lower(r.payee)
    LEFT JOIN categories c ON c.book_id = :book_id AND c.id = r.category_id
    WHERE r.session_id = :session_id AND ({_WANTED})
), written AS (
    INSERT INTO transactions (id, book_id, account_id, date, amount, currency, payee_id, description, memo,
                              external_id, import_session_id, source_line, category_id)
    SELECT tx_id, :book_id, :account_id, date, amount, :currency, payee_id, coalesce(description, ''), memo,
           external_id, :session_id, line, category_id
    FROM src
)
UPDATE import_rows r SET transaction_id = src.tx_id FROM src WHERE r.id = src.row_id
RETURNING r.status, r.row_key, r.duplicate_of
""")  # noqa: S608 - _WANTED is a constant of this module; every value is a bound parameter
_TAGS = text("""
INSERT INTO transaction_tags (transaction_id, tag_id)
SELECT r.transaction_id, t.id
FROM import_rows r CROSS JOIN LATERAL unnest(r.tag_ids) AS u(tag_id)
JOIN tags t ON t.book_id = :book_id AND t.id = u.tag_id
WHERE r.session_id = :session_id AND r.transaction_id IS NOT NULL AND r.tag_ids IS NOT NULL
ON CONFLICT DO NOTHING
""")
_SPLITS = text("""
INSERT INTO transaction_splits (transaction_id, category_id, amount)
SELECT r.transaction_id, c.id, (part->>'amount')::numeric
FROM import_rows r CROSS JOIN LATERAL jsonb_array_elements(r.splits) AS part
LEFT JOIN categories c ON c.book_id = :book_id AND c.id = (part->>'category_id')::bigint
WHERE r.session_id = :session_id AND r.transaction_id IS NOT NULL AND r.splits IS NOT NULL
""")
# Each paired row and the transaction it completes become the two legs of one transfer (unless the user said
# "import", which for a transfer row means: a plain transaction, not a transfer). The far leg must still
# be free: another import committed meanwhile may have paired it already.
_TRANSFERS = text("""
WITH pairs AS MATERIALIZED (
    SELECT nextval(pg_get_serial_sequence('transfers', 'id')::regclass) AS transfer_id,
           r.transaction_id AS mine, r.transfer_with AS theirs
    FROM import_rows r
    JOIN transactions t ON t.id = r.transfer_with AND t.book_id = :book_id AND t.transfer_id IS NULL
    WHERE r.session_id = :session_id AND r.status = 'transfer' AND r.transaction_id IS NOT NULL
      AND r.decision IS NULL
), made AS (
    INSERT INTO transfers (id, book_id, rate) SELECT transfer_id, :book_id, 1 FROM pairs
)
UPDATE transactions x SET transfer_id = legs.transfer_id, category_id = NULL
FROM (SELECT transfer_id, mine AS id FROM pairs UNION ALL SELECT transfer_id, theirs FROM pairs) legs
WHERE x.id = legs.id AND x.book_id = :book_id
""")
_RULE_HITS = text("""
SELECT rule_id, count(*) FROM import_rows
WHERE session_id = :session_id AND transaction_id IS NOT NULL AND category_source = 'rule' AND rule_id IS NOT NULL
GROUP BY rule_id
""")


async def write_transactions(
    session: AsyncSession, book_id: int, account_id: int, currency: str, session_id: int
) -> list[tuple[str, str | None, int | None]]:
    """Write the rows to import as transactions, link each row to its transaction; (status, row_key, dup) each."""
    params = {"book_id": book_id, "account_id": account_id, "currency": currency, "session_id": session_id}
    # New rows go to the trigram index's pending list and are merged in one pass (by this transaction's end of
    # list, or autovacuum), instead of a GIN insertion per row: the biggest single cost of a large commit.
    await session.execute(text("SELECT set_config('gin_pending_list_limit', '65536', true)"))
    await session.execute(_NEW_PAYEES, params)
    written = [(row[0], row[1], row[2]) for row in await session.execute(_WRITE, params)]
    ids = {"book_id": book_id, "session_id": session_id}
    await session.execute(_TAGS, ids)
    await session.execute(_SPLITS, ids)
    await session.execute(_TRANSFERS, ids)
    return written


async def rule_hits(session: AsyncSession, session_id: int) -> dict[int, int]:
    return {row[0]: row[1] for row in await session.execute(_RULE_HITS, {"session_id": session_id})}


async def store_file(session: AsyncSession, session_id: int, data: bytes) -> None:
    session.add(ImportFile(session_id=session_id, data=data))
    await session.flush()


async def file_bytes(session: AsyncSession, session_id: int) -> bytes | None:
    return await session.scalar(select(ImportFile.data).where(ImportFile.session_id == session_id))


async def drop_file(session: AsyncSession, session_id: int) -> None:
    await session.execute(delete(ImportFile).where(ImportFile.session_id == session_id))


async def drop_rows(session: AsyncSession, session_id: int) -> None:
    await session.execute(delete(ImportRow).where(ImportRow.session_id == session_id))


async def profiles(session: AsyncSession, book_id: int) -> list[ImportProfile]:
    query = select(ImportProfile).where(ImportProfile.book_id == book_id).order_by(ImportProfile.id)
    return list(await session.scalars(query))


async def profile(session: AsyncSession, book_id: int, profile_id: int) -> ImportProfile | None:
    return await session.scalar(
        select(ImportProfile).where(ImportProfile.book_id == book_id, ImportProfile.id == profile_id)
    )


async def upsert_profile(
    session: AsyncSession, book_id: int, name: str, header_key: str, mapping: dict[str, Any]
) -> ImportProfile:
    statement = (
        pg_insert(ImportProfile)
        .values(book_id=book_id, name=name, header_key=header_key, mapping=mapping)
        .on_conflict_do_update(constraint="import_profiles_book_header", set_={"name": name, "mapping": mapping})
        .returning(ImportProfile.id)
    )
    profile_id = (await session.execute(statement)).scalar_one()
    found = await profile(session, book_id, profile_id)
    assert found is not None
    await session.refresh(found)
    return found


async def profile_used(session: AsyncSession, profile_id: int) -> None:
    await session.execute(
        update(ImportProfile)
        .where(ImportProfile.id == profile_id)
        .values(uses=ImportProfile.uses + 1, last_used_at=func.now())
    )


async def import_session_by_id(session: AsyncSession, session_id: int, *, lock: bool = False) -> ImportSession | None:
    """For background jobs, which act on a session the API already checked."""
    query = select(ImportSession).where(ImportSession.id == session_id)
    return await session.scalar(query.with_for_update() if lock else query)


async def set_progress(session: AsyncSession, session_id: int, progress: dict[str, Any]) -> None:
    await session.execute(update(ImportSession).where(ImportSession.id == session_id).values(progress=progress))


async def set_failed(session: AsyncSession, session_id: int, status: str, error: dict[str, Any]) -> None:
    await session.execute(
        update(ImportSession).where(ImportSession.id == session_id).values(status=status, error=error, progress=None)
    )
