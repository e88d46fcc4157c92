"""SQL of reports: sums per category and per month, converted at each day's FX rate; net worth per month-end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache

from sqlalchemy import BigInteger, Row, TextClause, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.db import plan_for_these_values

# A line is a transaction without splits, or one of its splits; transfers move money between the household's own
# accounts and are neither income nor expense. Whole months of accounts in the base currency come from
# report_month_totals (kept by triggers, migration 0014): a few thousand rows instead of every line. The edges of
# the range (partial months) and accounts in other currencies are read line by line, and those are aggregated
# per (keys, currency, day) first so the rate lookup runs once per day and currency, not per row.
# The account filter is spliced in (not `:ids IS NULL OR ...`) so the planner sees a plain predicate either way.
# The accounts in other currencies are looked up first and bound as a list: as a subquery the planner could not
# know it is usually empty and read the whole table for it (90 ms of a 120 ms whole-history report).
_DETAIL = """
    SELECT coalesce(s.category_id, t.category_id) AS category_id, t.currency, t.date,
           coalesce(s.amount, t.amount) AS amount,
           CASE WHEN coalesce(s.amount, t.amount) > 0 THEN coalesce(s.amount, t.amount) ELSE 0 END AS inflow,
           1 AS n
    FROM transactions t LEFT JOIN transaction_splits s ON s.transaction_id = t.id
    WHERE t.book_id = :book_id AND t.transfer_id IS NULL {accounts} AND {dates}
"""
# Composed of this module's constants only.
_CONVERTED = (
    "WITH lines AS ("  # noqa: S608
    + _DETAIL.replace("{dates}", "t.date >= :date_from AND t.date < :whole_from")
    + " UNION ALL "
    + _DETAIL.replace("{dates}", "t.date >= :whole_until AND t.date <= :date_to")
    + " UNION ALL "
    + _DETAIL.replace(
        "{dates}",
        "t.date >= :whole_from AND t.date < :whole_until AND t.account_id = ANY(:foreign_ids)",
    )
    + """ UNION ALL
    SELECT r.category_id, r.currency, r.month AS date, r.total AS amount, r.inflow, r.n
    FROM report_month_totals r
    WHERE r.book_id = :book_id AND r.month >= :whole_from AND r.month < :whole_until AND r.currency = :base
      {totals_accounts}
), daily AS (
    SELECT {row_keys} l.currency, l.date, sum(l.amount) AS amount, sum(l.inflow) AS inflow, sum(l.n) AS n
    FROM lines l {joins} GROUP BY {row_names} l.currency, l.date
), rates AS (
    SELECT d.currency, d.date, r.rate
    FROM (SELECT DISTINCT currency, date FROM daily WHERE currency <> :base) d
    LEFT JOIN LATERAL (
        SELECT f.rate FROM fx_rates f
        WHERE f.book_id = :book_id AND f.currency = d.currency AND f.day <= d.date
        ORDER BY f.day DESC LIMIT 1
    ) r ON true
)
SELECT {out_keys},
       sum(CASE WHEN d.currency = :base THEN d.amount ELSE d.amount * r.rate END) AS total,
       sum(CASE WHEN d.currency = :base THEN d.inflow ELSE d.inflow * r.rate END) AS inflow,
       sum(d.n) AS n,
       array_remove(array_agg(DISTINCT CASE WHEN d.currency <> :base AND r.rate IS NULL THEN d.currency END), NULL)
           AS missing
FROM daily d LEFT JOIN rates r ON r.currency = d.currency AND r.date = d.date
GROUP BY {out_names} ORDER BY {out_names}
"""
)

_MONTH = "date_trunc('month', d.date)::date"
_ACCOUNTS = "AND t.account_id = ANY(:account_ids)"
_IDS = ARRAY(BigInteger)

Keys = tuple[tuple[str, str], ...]


@cache
def _converted(row_keys: Keys, out_keys: Keys, joins: str, filtered: bool) -> TextClause:
    """row_keys: (name, expression over t, s and joins) grouped with each day; out_keys: over the day rows d."""
    sql = _CONVERTED.format(
        row_keys="".join(f"{expr} AS {name}, " for name, expr in row_keys),
        row_names="".join(f"{name}, " for name, _ in row_keys),
        out_keys=", ".join(f"{expr} AS {name}" for name, expr in out_keys),
        out_names=", ".join(name for name, _ in out_keys),
        joins=joins,
        accounts=_ACCOUNTS if filtered else "",
        totals_accounts="AND r.account_id = ANY(:account_ids)" if filtered else "",
    )
    query = text(sql).bindparams(bindparam("foreign_ids", type_=_IDS))
    return query.bindparams(bindparam("account_ids", type_=_IDS)) if filtered else query


def whole_months(date_from: dt.date, date_to: dt.date) -> tuple[dt.date, dt.date]:
    """[whole_from, whole_until): the months lying wholly inside the range, read from report_month_totals; both
    the day after date_to when there is none, so the line-by-line edges cover the whole range."""
    first = date_from if date_from.day == 1 else _next_month(date_from)
    after = date_to + dt.timedelta(days=1)
    until = after if after.day == 1 else after.replace(day=1)
    return (first, until) if first < until else (after, after)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


_FOREIGN = text("SELECT id FROM accounts WHERE book_id = :book_id AND currency <> :base ORDER BY id")


async def _params(
    session: AsyncSession,
    book_id: int,
    base: str,
    date_from: dt.date,
    date_to: dt.date,
    account_ids: Sequence[int] | None,
) -> dict[str, object]:
    await plan_for_these_values(session)
    params: dict[str, object] = {"book_id": book_id, "base": base, "date_from": date_from, "date_to": date_to}
    params["whole_from"], params["whole_until"] = whole_months(date_from, date_to)
    params["foreign_ids"] = list(await session.scalars(_FOREIGN, {"book_id": book_id, "base": base}))
    if account_ids is not None:
        params["account_ids"] = list(account_ids)
    return params


async def by_category(
    session: AsyncSession,
    book_id: int,
    base: str,
    date_from: dt.date,
    date_to: dt.date,
    account_ids: Sequence[int] | None = None,
) -> list[Row]:
    """Rows (key = category id or None, total, inflow, n, missing), in the base currency."""
    key = (("key", "l.category_id"),)
    query = _converted(key, (("key", "d.key"),), "", account_ids is not None)
    return list(await session.execute(query, await _params(session, book_id, base, date_from, date_to, account_ids)))


async def by_month(
    session: AsyncSession,
    book_id: int,
    base: str,
    date_from: dt.date,
    date_to: dt.date,
    account_ids: Sequence[int] | None = None,
) -> list[Row]:
    """Rows (key = first day of the month, total, inflow, n, missing), in the base currency."""
    query = _converted((), (("key", _MONTH),), "", account_ids is not None)
    return list(await session.execute(query, await _params(session, book_id, base, date_from, date_to, account_ids)))


# A child category's lines count for its parent: trends are drawn per top-level category.
_TOP_JOIN = "LEFT JOIN categories c ON c.id = l.category_id"


async def by_month_and_top_category(
    session: AsyncSession,
    book_id: int,
    base: str,
    date_from: dt.date,
    date_to: dt.date,
    account_ids: Sequence[int] | None = None,
) -> list[Row]:
    """Rows (month, top = top-level category id or None, total, inflow, n, missing), in the base currency."""
    row_keys = (("top", "coalesce(c.parent_id, c.id)"),)
    query = _converted(row_keys, (("month", _MONTH), ("top", "d.top")), _TOP_JOIN, account_ids is not None)
    return list(await session.execute(query, await _params(session, book_id, base, date_from, date_to, account_ids)))


# Month-end balances from the trigger-kept monthly totals: a running sum (a window over the months) per account,
# plus its opening balance. History before the range folds into the range's first month; the last month counts
# only up to date_to (its monthly total holds the whole month), read from transactions_account_date.
# Each point converts at the latest rate on or before its day.
_NET_WORTH = """
WITH acc AS (
    SELECT a.id, a.currency, a.opening_balance FROM accounts a WHERE a.book_id = :book_id {accounts}
), grid AS (
    SELECT acc.id, acc.currency, acc.opening_balance, m.month::date AS month,
           least((m.month + interval '1 month - 1 day')::date, CAST(:date_to AS date)) AS day
    FROM acc CROSS JOIN generate_series(CAST(:first AS date), CAST(:last AS date), interval '1 month') AS m(month)
), monthly AS (
    SELECT account_id, month, sum(total) AS total FROM (
        SELECT t.account_id, greatest(t.month, CAST(:first AS date)) AS month, t.total
        FROM account_month_totals t JOIN acc ON acc.id = t.account_id
        WHERE t.month < :whole_until
        UNION ALL
        SELECT x.account_id, CAST(:last AS date), x.amount
        FROM transactions x JOIN acc ON acc.id = x.account_id
        WHERE x.date >= :whole_until AND x.date <= :date_to
    ) AS parts GROUP BY 1, 2
), balances AS (
    SELECT g.month, g.day, g.currency,
           g.opening_balance + sum(coalesce(m.total, 0)) OVER (PARTITION BY g.id ORDER BY g.month) AS balance
    FROM grid g LEFT JOIN monthly m ON m.account_id = g.id AND m.month = g.month
), rates AS (
    SELECT d.currency, d.day, r.rate
    FROM (SELECT DISTINCT currency, day FROM balances WHERE currency <> :base) d
    LEFT JOIN LATERAL (
        SELECT f.rate FROM fx_rates f
        WHERE f.book_id = :book_id AND f.currency = d.currency AND f.day <= d.day
        ORDER BY f.day DESC LIMIT 1
    ) r ON true
), converted AS (
    SELECT b.month, b.day, b.currency, r.rate,
           CASE WHEN b.currency = :base THEN b.balance ELSE b.balance * r.rate END AS amount
    FROM balances b LEFT JOIN rates r ON r.currency = b.currency AND r.day = b.day
)
SELECT month, day, coalesce(sum(amount), 0) AS total,
       coalesce(sum(amount) FILTER (WHERE amount > 0), 0) AS assets,
       coalesce(sum(amount) FILTER (WHERE amount < 0), 0) AS liabilities,
       array_remove(array_agg(DISTINCT CASE WHEN currency <> :base AND rate IS NULL THEN currency END), NULL)
           AS missing
FROM converted GROUP BY month, day ORDER BY month
"""


@cache
def _net_worth(filtered: bool) -> TextClause:
    query = text(_NET_WORTH.format(accounts="AND a.id = ANY(:account_ids)" if filtered else ""))
    return query.bindparams(bindparam("account_ids", type_=_IDS)) if filtered else query


async def net_worth(
    session: AsyncSession,
    book_id: int,
    base: str,
    first: dt.date,
    last: dt.date,
    date_to: dt.date,
    account_ids: Sequence[int] | None = None,
) -> list[Row]:
    """Rows (month, day, total, assets, liabilities, missing) for each month from `first` to `last` (month starts).

    `day` is the month's last day, or date_to in the last month.
    """
    month_end = (date_to + dt.timedelta(days=1)).day == 1
    whole_until = date_to + dt.timedelta(days=1) if month_end else date_to.replace(day=1)
    params: dict[str, object] = {
        "book_id": book_id,
        "base": base,
        "first": first,
        "last": last,
        "date_to": date_to,
        "whole_until": whole_until,
    }
    if account_ids is not None:
        params["account_ids"] = list(account_ids)
    await plan_for_these_values(session)
    return list(await session.execute(_net_worth(account_ids is not None), params))
