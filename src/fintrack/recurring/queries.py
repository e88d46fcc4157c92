"""SQL of the recurring domain: the candidate groups of a book's history in one pass, and the series table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.recurring.models import RecurringScan, RecurringSeries


def _key(column: str) -> str:
    # detection.merchant_key in SQL: folded (fintrack_fold, as rules' search text), words with digits dropped.
    return (
        f"left(btrim(regexp_replace(regexp_replace(fintrack_fold({column}), '\\S*[0-9]\\S*', ' ', 'g'), "
        "'\\s+', ' ', 'g')), 200)"
    )


# One pass over the window, grouped by exact description first: the key (a fold and two regular expressions,
# far dearer than the scan) is then computed once per distinct description instead of once per row. Groups of
# descriptions sharing a key are kept when they could be a series (two charges or more, the latest recent
# enough, and no more than one charge every five days on average, which rules out the supermarket and the
# bakery before their dates are shipped), and only theirs are merged into one list of dates and amounts.
_CANDIDATES = text(
    f"""
    WITH d AS (
        SELECT t.account_id, t.description, t.amount < 0 AS debit, count(*) AS n, min(t.date) AS first,
               max(t.date) AS last, min(t.currency) AS currency,
               array_agg(t.date) AS dates, array_agg(t.amount) AS amounts,
               array_agg(t.payee_id) AS payee_ids, array_agg(t.category_id) AS category_ids
        FROM transactions t
        WHERE t.book_id = :book_id AND t.date BETWEEN :since AND :today AND t.transfer_id IS NULL AND t.amount <> 0
        GROUP BY 1, 2, 3
    ), k AS MATERIALIZED (
        SELECT d.*, {_key("d.description")} AS key FROM d
    ), g AS (
        SELECT account_id, key, debit
        FROM k
        WHERE key <> ''
        GROUP BY 1, 2, 3
        HAVING sum(n) >= 2 AND max(last) >= :alive_since AND sum(n) <= (max(last) - min(first)) / 5 + 1
    ), s AS (
        SELECT k.account_id, k.key, k.debit,
               array_agg(u.date ORDER BY u.date, u.amount) AS dates,
               array_agg(u.amount ORDER BY u.date, u.amount) AS amounts,
               min(k.currency) AS currency,
               max(k.description) AS description,
               mode() WITHIN GROUP (ORDER BY u.payee_id) AS payee_id,
               mode() WITHIN GROUP (ORDER BY u.category_id) AS category_id
        FROM k
        JOIN g USING (account_id, key, debit)
        CROSS JOIN LATERAL unnest(k.dates, k.amounts, k.payee_ids, k.category_ids)
            AS u(date, amount, payee_id, category_id)
        GROUP BY 1, 2, 3
    )
    SELECT s.account_id, s.key, s.debit, s.dates, s.amounts, s.currency, s.description, s.category_id,
           p.name AS payee
    FROM s LEFT JOIN payees p ON p.id = s.payee_id
    """  # noqa: S608 - _key() is a constant expression; every value is a bound parameter
)


async def candidate_groups(
    session: AsyncSession, book_id: int, *, since: dt.date, today: dt.date, alive_since: dt.date
) -> list[Any]:
    """Rows of (account_id, key, debit, dates, amounts, currency, description, category_id, payee)."""
    params = {"book_id": book_id, "since": since, "today": today, "alive_since": alive_since}
    return list(await session.execute(_CANDIDATES, params))


# The newest charge of each series since detection last read the book, so upcoming dates do not wait for a
# re-run. Only rows detection has not read are looked at: ids above the scan's (ids only grow; the primary key
# finds them) and rows dated after the scan's day (future-dated ones it skipped then; the date index finds them).
# A book never scanned reads every account's charges since its series' last dates. The key is then computed
# once per distinct description of those few rows.
_LATEST = text(
    f"""
    WITH s AS (
        SELECT id, account_id, key, direction = 'debit' AS debit, last_date
        FROM recurring_series
        WHERE book_id = :book_id AND status <> 'dismissed'
    ), a AS (
        SELECT account_id, min(last_date) AS since FROM s GROUP BY 1
    ), fresh AS (
        SELECT t.account_id, t.description, t.amount, t.date, t.transfer_id
        FROM transactions t
        WHERE t.book_id = :book_id AND t.id > :seen_id AND t.date <= :today
        UNION ALL
        SELECT t.account_id, t.description, t.amount, t.date, t.transfer_id
        FROM transactions t
        WHERE t.book_id = :book_id AND t.date > :scan_day AND t.date <= :today AND t.id <= :seen_id
    ), d AS (
        SELECT f.account_id, f.description, f.amount < 0 AS debit, max(f.date) AS last
        FROM fresh f
        JOIN a ON f.account_id = a.account_id AND f.date > a.since
        WHERE f.transfer_id IS NULL AND f.amount <> 0
        GROUP BY 1, 2, 3
    ), k AS MATERIALIZED (
        SELECT d.*, {_key("d.description")} AS key FROM d
    )
    SELECT s.id, max(k.last) AS last_date
    FROM s JOIN k USING (account_id, key, debit)
    WHERE k.last > s.last_date
    GROUP BY s.id
    """  # noqa: S608 - _key() is a constant expression; every value is a bound parameter
)


async def newer_charges(session: AsyncSession, book_id: int, today: dt.date) -> dict[int, dt.date]:
    scan = await session.get(RecurringScan, book_id)
    seen_id, scan_day = (scan.seen_id, scan.day) if scan is not None else (0, dt.date.min)
    params = {"book_id": book_id, "today": today, "seen_id": seen_id, "scan_day": scan_day}
    rows = await session.execute(_LATEST, params)
    return {row.id: row.last_date for row in rows}


async def unscanned_over(session: AsyncSession, book_id: int, limit: int) -> bool:
    """Whether more than `limit` of the book's rows were written since its last scan (stops counting there)."""
    scan = await session.get(RecurringScan, book_id)
    query = text(
        "SELECT count(*) FROM (SELECT 1 FROM transactions WHERE book_id = :book_id AND id > :seen_id LIMIT :n) AS x"
    )
    params = {"book_id": book_id, "seen_id": scan.seen_id if scan is not None else 0, "n": limit + 1}
    return int(await session.scalar(query, params) or 0) > limit


async def newest_id(session: AsyncSession) -> int:
    """The highest transaction id so far (of any book: ids are global, and the primary key answers at once)."""
    return int(await session.scalar(text("SELECT coalesce(max(id), 0) FROM transactions")) or 0)


async def record_scan(session: AsyncSession, book_id: int, seen_id: int, day: dt.date) -> None:
    statement = (
        insert(RecurringScan)
        .values(book_id=book_id, seen_id=seen_id, day=day)
        .on_conflict_do_update(
            index_elements=[RecurringScan.book_id],
            set_={"seen_id": seen_id, "day": day, "scanned_at": func.now()},
        )
    )
    await session.execute(statement)


async def key_of(session: AsyncSession, description: str) -> str:
    """The SQL key of one description (for checking it agrees with detection.merchant_key)."""
    return str(await session.scalar(text(f"SELECT {_key(':d')}"), {"d": description}))


async def lock(session: AsyncSession, book_id: int) -> None:
    """Serialize detection runs of one book until the transaction ends (two would insert the same series)."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended('fintrack.recurring', :b))"), {"b": book_id}
    )


async def all_series(session: AsyncSession, book_id: int, status: str | None = None) -> list[RecurringSeries]:
    query = select(RecurringSeries).where(RecurringSeries.book_id == book_id)
    if status is not None:
        query = query.where(RecurringSeries.status == status)
    query = query.order_by(RecurringSeries.next_date, RecurringSeries.name, RecurringSeries.id)
    return list(await session.scalars(query))


async def one(session: AsyncSession, book_id: int, series_id: int) -> RecurringSeries | None:
    query = select(RecurringSeries).where(RecurringSeries.id == series_id, RecurringSeries.book_id == book_id)
    return await session.scalar(query)


async def remove(session: AsyncSession, book_id: int, ids: list[int]) -> None:
    if ids:
        query = delete(RecurringSeries).where(RecurringSeries.book_id == book_id, RecurringSeries.id.in_(ids))
        await session.execute(query, execution_options={"synchronize_session": False})
