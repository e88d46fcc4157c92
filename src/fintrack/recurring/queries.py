"""SQL of the recurring domain: the candidate groups of a book's history in one pass, and the series table."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.recurring.models import RecurringSeries


def _key(column: str) -> str:
    # detection.merchant_key in SQL: folded (fintrack_fold, as rules' search text), words with digits dropped.
    return (
        f"left(btrim(regexp_replace(regexp_replace(fintrack_fold({column}), '\\S*[0-9]\\S*', ' ', 'g'), "
        "'\\s+', ' ', 'g')), 200)"
    )


# One pass over the window: group by account, key and direction, keep the groups that could be a series (two
# charges or more, the latest recent enough, and no more than one charge every five days on average, which
# rules out the supermarket and the bakery before their dates are shipped), with their dates and amounts.
_CANDIDATES = text(
    f"""
    WITH g AS (
        SELECT t.account_id,
               {_key("t.description")} AS key,
               t.amount < 0 AS debit,
               array_agg(t.date ORDER BY t.date, t.id) AS dates,
               array_agg(t.amount ORDER BY t.date, t.id) AS amounts,
               min(t.currency) AS currency,
               max(t.description) AS description,
               mode() WITHIN GROUP (ORDER BY t.payee_id) AS payee_id,
               mode() WITHIN GROUP (ORDER BY t.category_id) AS category_id
        FROM transactions t
        WHERE t.book_id = :book_id AND t.date BETWEEN :since AND :today
          AND t.transfer_id IS NULL AND t.amount <> 0
        GROUP BY 1, 2, 3
        HAVING count(*) >= 2 AND max(t.date) >= :alive_since
           AND count(*) <= (max(t.date) - min(t.date)) / 5 + 1
    )
    SELECT g.account_id, g.key, g.debit, g.dates, g.amounts, g.currency, g.description, g.category_id,
           p.name AS payee
    FROM g LEFT JOIN payees p ON p.id = g.payee_id
    WHERE g.key <> ''
    """  # noqa: S608 - _key() is a constant expression; every value is a bound parameter
)


async def candidate_groups(
    session: AsyncSession, book_id: int, *, since: dt.date, today: dt.date, alive_since: dt.date
) -> list[Any]:
    """Rows of (account_id, key, debit, dates, amounts, currency, description, category_id, payee)."""
    params = {"book_id": book_id, "since": since, "today": today, "alive_since": alive_since}
    return list(await session.execute(_CANDIDATES, params))


# The newest charge of each series since detection last saw it, so upcoming dates do not wait for a re-run.
_LATEST = text(
    f"""
    SELECT s.id, max(t.date) AS last_date
    FROM recurring_series s
    JOIN transactions t ON t.account_id = s.account_id AND t.book_id = s.book_id AND t.date > s.last_date
    WHERE s.book_id = :book_id AND s.status <> 'dismissed' AND t.date <= :today
      AND t.transfer_id IS NULL AND (t.amount < 0) = (s.direction = 'debit') AND t.amount <> 0
      AND {_key("t.description")} = s.key
    GROUP BY s.id
    """  # noqa: S608 - _key() is a constant expression; every value is a bound parameter
)


async def newer_charges(session: AsyncSession, book_id: int, today: dt.date) -> dict[int, dt.date]:
    rows = await session.execute(_LATEST, {"book_id": book_id, "today": today})
    return {row.id: row.last_date for row in rows}


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
