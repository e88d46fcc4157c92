"""Balances and summaries of a book, in its base currency."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.access import BookAccess
from fintrack.errors import InvalidInput
from fintrack.ledger import queries as ledger_queries
from fintrack.ledger.schemas import BalanceOut, BalancesOut
from fintrack.money import format_amount, quantize
from fintrack.reports import queries
from fintrack.reports.schemas import CashflowReport, CategoryLine, CategoryReport, MonthLine


async def balances(session: AsyncSession, access: BookAccess, as_of: dt.date | None) -> BalancesOut:
    base = access.book.base_currency
    accounts = await ledger_queries.accounts(session, access.id)
    amounts = await ledger_queries.balances(session, access.id, as_of)
    rates = await ledger_queries.rates_on(session, access.id, {a.currency for a in accounts} - {base}, as_of)
    lines, total, missing = [], Decimal(0), set()
    for account in accounts:
        amount = amounts.get(account.id, account.opening_balance)
        rate = Decimal(1) if account.currency == base else rates.get(account.currency)
        in_base = None if rate is None else quantize(amount * rate, base)
        if in_base is None:
            missing.add(account.currency)
        else:
            total += in_base
        lines.append(
            BalanceOut(
                account_id=account.id,
                name=account.name,
                currency=account.currency,
                balance=format_amount(amount, account.currency),
                balance_in_base=None if in_base is None else format_amount(in_base, base),
                as_of=as_of,
            )
        )
    return BalancesOut(
        base_currency=base,
        as_of=as_of,
        accounts=lines,
        total_in_base=format_amount(total, base),
        missing_rates=sorted(missing),
    )


def _period(date_from: dt.date | None, date_to: dt.date | None) -> tuple[dt.date, dt.date]:
    today = dt.date.today()
    end = date_to or today
    start = date_from or end.replace(day=1)
    if start > end:
        raise InvalidInput("date_from is after date_to", field="date_from")
    return start, end


async def by_category(
    session: AsyncSession, access: BookAccess, date_from: dt.date | None, date_to: dt.date | None
) -> CategoryReport:
    start, end = _period(date_from, date_to)
    base = access.book.base_currency
    categories = {c.id: c for c in await ledger_queries.categories(session, access.id)}
    rows = await queries.by_category(session, access.id, base, start, end)
    lines = []
    for row in rows:
        category = categories.get(row.key)
        parent = categories.get(category.parent_id) if category and category.parent_id else None
        lines.append(
            CategoryLine(
                category_id=row.key,
                category=category.name if category else None,
                parent=parent.name if parent else None,
                kind=category.kind.value if category else None,
                total=format_amount(row.total or Decimal(0), base),
                count=row.n,
            )
        )
    lines.sort(key=lambda line: Decimal(line.total))
    missing = sorted({c for row in rows for c in row.missing})
    return CategoryReport(base_currency=base, date_from=start, date_to=end, lines=lines, missing_rates=missing)


async def cashflow(
    session: AsyncSession, access: BookAccess, date_from: dt.date | None, date_to: dt.date | None
) -> CashflowReport:
    end = date_to or dt.date.today()
    start = date_from or dt.date(end.year - 1, end.month, 1)
    start, end = _period(start, end)
    base = access.book.base_currency
    rows = await queries.by_month(session, access.id, base, start, end)
    months = []
    for row in rows:
        total, inflow = row.total or Decimal(0), row.inflow or Decimal(0)
        months.append(
            MonthLine(
                month=row.key,
                income=format_amount(inflow, base),
                expense=format_amount(total - inflow, base),
                net=format_amount(total, base),
                count=row.n,
            )
        )
    missing = sorted({c for row in rows for c in row.missing})
    return CashflowReport(base_currency=base, date_from=start, date_to=end, months=months, missing_rates=missing)
