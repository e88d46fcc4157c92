"""SQL of budgets: the book's budgets, spending per category and month, and the alerts already announced."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import BigInteger, Date, Row, SmallInteger, bindparam, exists, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.models import BookMember
from fintrack.budgets.models import Budget
from fintrack.ledger.models import Category


async def budgets(session: AsyncSession, book_id: int) -> list[Budget]:
    return list(await session.scalars(select(Budget).where(Budget.book_id == book_id).order_by(Budget.id)))


async def has_budgets(session: AsyncSession, book_id: int) -> bool:
    return bool(await session.scalar(select(exists().where(Budget.book_id == book_id))))


async def budget(session: AsyncSession, book_id: int, budget_id: int) -> Budget | None:
    return await session.scalar(select(Budget).where(Budget.id == budget_id, Budget.book_id == book_id))


async def budget_for_category(session: AsyncSession, book_id: int, category_id: int) -> Budget | None:
    return await session.scalar(select(Budget).where(Budget.book_id == book_id, Budget.category_id == category_id))


async def categories(session: AsyncSession, book_id: int) -> list[Category]:
    return list(await session.scalars(select(Category).where(Category.book_id == book_id)))


async def member_ids(session: AsyncSession, book_id: int) -> list[int]:
    query = select(BookMember.user_id).where(BookMember.book_id == book_id).order_by(BookMember.user_id)
    return list(await session.scalars(query))


# Spending ----------------------------------------------------------------------------------------------------

# The same rules as the category report (reports.queries): a split part counts in its own category (a part
# without one in the transaction's), transfers are neither income nor expense, and an amount in another currency
# is converted at the latest rate on or before its day. That query sums every category over one period; this one
# needs each month apart and only the budgeted categories, so it starts from them: the first branch walks the
# (book_id, category_id, date) index of transactions, the second the category index of splits (split
# transactions normally have no category of their own, and the NOT clause keeps a line from counting twice).
_SPENDING = text("""
WITH lines AS (
    SELECT coalesce(s.category_id, t.category_id) AS category_id, t.currency, t.date,
           coalesce(s.amount, t.amount) AS amount
    FROM transactions t LEFT JOIN transaction_splits s ON s.transaction_id = t.id
    WHERE t.book_id = :book_id AND t.category_id = ANY(:category_ids) AND t.transfer_id IS NULL
      AND t.date BETWEEN :date_from AND :date_to
      AND coalesce(s.category_id, t.category_id) = ANY(:category_ids)
    UNION ALL
    SELECT s.category_id, t.currency, t.date, s.amount
    FROM transaction_splits s JOIN transactions t ON t.id = s.transaction_id
    WHERE s.category_id = ANY(:category_ids) AND t.book_id = :book_id AND t.transfer_id IS NULL
      AND t.date BETWEEN :date_from AND :date_to
      AND NOT coalesce(t.category_id = ANY(:category_ids), false)
), daily AS (
    SELECT category_id, currency, date, sum(amount) AS amount FROM lines GROUP BY 1, 2, 3
)
SELECT d.category_id,
       date_trunc('month', d.date)::date AS month,
       sum(CASE WHEN d.currency = :base THEN d.amount ELSE d.amount * r.rate END) AS total,
       array_remove(array_agg(DISTINCT CASE WHEN d.currency <> :base AND r.rate IS NULL THEN d.currency END), NULL)
           AS missing
FROM daily d
LEFT JOIN LATERAL (
    SELECT f.rate FROM fx_rates f
    WHERE f.book_id = :book_id AND f.currency = d.currency AND f.day <= d.date
    ORDER BY f.day DESC LIMIT 1
) r ON d.currency <> :base
GROUP BY 1, 2
""").bindparams(bindparam("category_ids", type_=ARRAY(BigInteger)))


async def spending(
    session: AsyncSession,
    book_id: int,
    base: str,
    category_ids: Sequence[int],
    date_from: dt.date,
    date_to: dt.date,
) -> list[Row]:
    """(category_id, month, total, missing) of the categories, per month: total is signed (expenses < 0)."""
    if not category_ids:
        return []
    params = {
        "book_id": book_id,
        "base": base,
        "category_ids": sorted(set(category_ids)),
        "date_from": date_from,
        "date_to": date_to,
    }
    return list(await session.execute(_SPENDING, params))


# Alerts ------------------------------------------------------------------------------------------------------

_RECORD = text("""
INSERT INTO budget_alerts (budget_id, month, threshold)
SELECT * FROM unnest(:budget_ids, :months, :thresholds)
ON CONFLICT DO NOTHING
RETURNING budget_id, month, threshold
""").bindparams(
    bindparam("budget_ids", type_=ARRAY(BigInteger)),
    bindparam("months", type_=ARRAY(Date)),
    bindparam("thresholds", type_=ARRAY(SmallInteger)),
)


async def record_alerts(
    session: AsyncSession, crossings: Sequence[tuple[int, dt.date, int]]
) -> set[tuple[int, dt.date, int]]:
    """Record (budget_id, month, threshold) crossings; returns those not recorded before (to announce)."""
    if not crossings:
        return set()
    params = {
        "budget_ids": [c[0] for c in crossings],
        "months": [c[1] for c in crossings],
        "thresholds": [c[2] for c in crossings],
    }
    return {(row[0], row[1], row[2]) for row in await session.execute(_RECORD, params)}


_IMPORT_MONTHS = text(
    "SELECT DISTINCT date_trunc('month', date)::date FROM transactions "
    "WHERE import_session_id = :import_id AND book_id = :book_id"
)


async def months_of_import(session: AsyncSession, book_id: int, import_id: int) -> list[dt.date]:
    return list(await session.scalars(_IMPORT_MONTHS, {"import_id": import_id, "book_id": book_id}))
