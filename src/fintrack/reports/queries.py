"""SQL of reports: sums per category and per month, converted at each day's FX rate."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

# Aggregate per (key, currency, day) first, so the rate lookup runs once per day and currency, not per row.
# Transfers move money between the household's own accounts: they are neither income nor expense.
_CONVERTED = """
WITH lines AS (
    SELECT {key} AS key, t.currency, t.date, coalesce(s.amount, t.amount) AS amount
    FROM transactions t LEFT JOIN transaction_splits s ON s.transaction_id = t.id
    WHERE t.book_id = :book_id AND t.transfer_id IS NULL AND t.date BETWEEN :date_from AND :date_to
), daily AS (
    SELECT key, currency, date, sum(amount) AS amount, sum(CASE WHEN amount > 0 THEN amount ELSE 0 END) AS inflow,
           count(*) AS n
    FROM lines GROUP BY 1, 2, 3
)
SELECT d.key,
       sum(CASE WHEN d.currency = :base THEN d.amount ELSE d.amount * r.rate END) AS total,
       sum(CASE WHEN d.currency = :base THEN d.inflow ELSE d.inflow * r.rate END) AS inflow,
       sum(d.n) AS n,
       array_remove(array_agg(DISTINCT CASE WHEN d.currency <> :base AND r.rate IS NULL THEN d.currency END), NULL)
           AS missing
FROM daily d
LEFT JOIN LATERAL (
    SELECT f.rate FROM fx_rates f
    WHERE f.book_id = :book_id AND f.currency = d.currency AND f.day <= d.date
    ORDER BY f.day DESC LIMIT 1
) r ON d.currency <> :base
GROUP BY d.key ORDER BY d.key
"""

_BY_CATEGORY = text(_CONVERTED.format(key="coalesce(s.category_id, t.category_id)"))
_BY_MONTH = text(_CONVERTED.format(key="date_trunc('month', t.date)::date"))


async def by_category(
    session: AsyncSession, book_id: int, base: str, date_from: dt.date, date_to: dt.date
) -> list[Row]:
    params = {"book_id": book_id, "base": base, "date_from": date_from, "date_to": date_to}
    return list(await session.execute(_BY_CATEGORY, params))


async def by_month(session: AsyncSession, book_id: int, base: str, date_from: dt.date, date_to: dt.date) -> list[Row]:
    params = {"book_id": book_id, "base": base, "date_from": date_from, "date_to": date_to}
    return list(await session.execute(_BY_MONTH, params))
