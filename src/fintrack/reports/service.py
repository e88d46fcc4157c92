"""Balances and summaries of a book, in its base currency: what the reports API and the web UI show."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from fintrack.books.access import BookAccess
from fintrack.errors import InvalidInput
from fintrack.ledger import queries as ledger_queries
from fintrack.ledger.errors import AccountNotFound
from fintrack.ledger.schemas import BalanceOut, BalancesOut
from fintrack.money import format_amount, quantize
from fintrack.reports import queries
from fintrack.reports.schemas import (
    CashflowReport,
    CategoryLine,
    CategoryReport,
    CategoryTrendsReport,
    MonthLine,
    NetWorthPoint,
    NetWorthReport,
    TrendSeries,
)

MAX_ACCOUNTS = 100
DEFAULT_TOP = 8
MAX_TOP = 50
_RATE = Decimal("0.0001")
Kind = Literal["expense", "income"]


async def balances(
    session: AsyncSession, access: BookAccess, as_of: dt.date | None, account_ids: Sequence[int] | None = None
) -> BalancesOut:
    base = access.book.base_currency
    wanted = await _accounts(session, access, account_ids)
    accounts = [a for a in await ledger_queries.accounts(session, access.id) if wanted is None or a.id in wanted]
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


def period(date_from: dt.date | None, date_to: dt.date | None, months: int = 12) -> tuple[dt.date, dt.date]:
    """The range a report covers: by default up to today, from the first day of the `months`-th month back."""
    end = date_to or dt.date.today()
    start = date_from or _add_months(end.replace(day=1), 1 - months)
    if start > end:
        raise InvalidInput(f"date_from ({start}) is after date_to ({end})", field="date_from")
    return start, end


def _add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def _months(start: dt.date, end: dt.date) -> list[dt.date]:
    first, last = start.replace(day=1), end.replace(day=1)
    months = [first]
    while months[-1] < last:
        months.append(_add_months(months[-1], 1))
    return months


async def _accounts(session: AsyncSession, access: BookAccess, account_ids: Sequence[int] | None) -> list[int] | None:
    """The filter's account ids, sorted, once each; None (every account) when there is no filter.

    An id from another book gets the answer a made-up id gets, so the filter reveals nothing of other households.
    """
    if not account_ids:
        return None
    wanted = set(account_ids)
    if len(wanted) > MAX_ACCOUNTS:
        raise InvalidInput(f"at most {MAX_ACCOUNTS} accounts per report", field="account_id")
    found = await ledger_queries.accounts_by_ids(session, access.id, wanted)
    unknown = sorted(wanted - found.keys())
    if unknown:
        raise AccountNotFound(
            f"no such account in this book: account_id {', '.join(map(str, unknown))}",
            field="account_id",
            account_ids=unknown,
        )
    return sorted(wanted)


def _missing(rows: Sequence[object]) -> list[str]:
    return sorted({c for row in rows for c in row.missing})  # type: ignore[attr-defined]


async def by_category(
    session: AsyncSession,
    access: BookAccess,
    date_from: dt.date | None,
    date_to: dt.date | None,
    account_ids: Sequence[int] | None = None,
) -> CategoryReport:
    """Totals per category (children apart from their parents); the default range is this month."""
    start, end = period(date_from, date_to, months=1)
    accounts = await _accounts(session, access, account_ids)
    base = access.book.base_currency
    categories = {c.id: c for c in await ledger_queries.categories(session, access.id)}
    rows = await queries.by_category(session, access.id, base, start, end, accounts)
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
    return CategoryReport(
        base_currency=base,
        date_from=start,
        date_to=end,
        account_ids=accounts,
        lines=lines,
        missing_rates=_missing(rows),
    )


def _month_line(month: dt.date, income: Decimal, total: Decimal, count: int, base: str) -> MonthLine:
    income, net = quantize(income, base), quantize(total, base)
    return MonthLine(
        month=month,
        income=format_amount(income, base),
        expense=format_amount(net - income, base),
        net=format_amount(net, base),
        # Of the money that came in, the share that stayed; with no income there is no rate to speak of.
        savings_rate=f"{(net / income).quantize(_RATE):f}" if income > 0 else None,
        count=count,
    )


async def cashflow(
    session: AsyncSession,
    access: BookAccess,
    date_from: dt.date | None,
    date_to: dt.date | None,
    account_ids: Sequence[int] | None = None,
) -> CashflowReport:
    """Income, expense, net and savings rate per month (default: the last twelve months, this one included)."""
    start, end = period(date_from, date_to)
    accounts = await _accounts(session, access, account_ids)
    base = access.book.base_currency
    rows = await queries.by_month(session, access.id, base, start, end, accounts)
    found = {row.key: (row.inflow or Decimal(0), row.total or Decimal(0), row.n) for row in rows}
    return _cashflow(start, end, accounts, base, found, _missing(rows))


def _cashflow(
    start: dt.date,
    end: dt.date,
    accounts: list[int] | None,
    base: str,
    found: dict[dt.date, tuple[Decimal, Decimal, int]],
    missing: list[str],
) -> CashflowReport:
    """The report from each month's (income, net, count); months without any are zeros."""
    months, income, total, count = [], Decimal(0), Decimal(0), 0
    for month in _months(start, end):
        month_income, month_total, month_count = found.get(month, (Decimal(0), Decimal(0), 0))
        months.append(_month_line(month, month_income, month_total, month_count, base))
        income, total, count = income + month_income, total + month_total, count + month_count
    return CashflowReport(
        base_currency=base,
        date_from=start,
        date_to=end,
        account_ids=accounts,
        months=months,
        total=_month_line(months[0].month, income, total, count, base),
        missing_rates=missing,
    )


async def category_trends(
    session: AsyncSession,
    access: BookAccess,
    date_from: dt.date | None,
    date_to: dt.date | None,
    account_ids: Sequence[int] | None = None,
    *,
    kind: Kind = "expense",
    top: int = DEFAULT_TOP,
) -> CategoryTrendsReport:
    """Per month, the `top` largest top-level categories of `kind` (subcategories rolled up), then `others`.

    Uncategorized lines have no kind: their money out counts as expense, their money in as income.
    """
    # The same pass as the overview's; summing its rows per month as well costs next to nothing.
    return (await overview(session, access, date_from, date_to, account_ids, kind=kind, top=top))[1]


async def overview(
    session: AsyncSession,
    access: BookAccess,
    date_from: dt.date | None,
    date_to: dt.date | None,
    account_ids: Sequence[int] | None = None,
    *,
    kind: Kind = "expense",
    top: int = DEFAULT_TOP,
) -> tuple[CashflowReport, CategoryTrendsReport]:
    """Cash flow and category trends from one pass over the range (the reports page shows both): a month's
    totals are the sums of its categories' lines, converted at the same daily rates, so nothing differs from
    asking for each report on its own but the second scan of the rows."""
    if not 1 <= top <= MAX_TOP:
        raise InvalidInput(f"top must be between 1 and {MAX_TOP}", field="top")
    start, end = period(date_from, date_to)
    accounts = await _accounts(session, access, account_ids)
    base = access.book.base_currency
    categories = {c.id: c for c in await ledger_queries.categories(session, access.id)}
    rows = await queries.by_month_and_top_category(session, access.id, base, start, end, accounts)
    found: dict[dt.date, tuple[Decimal, Decimal, int]] = {}
    for row in rows:
        inflow, total, n = found.get(row.month, (Decimal(0), Decimal(0), 0))
        found[row.month] = (inflow + (row.inflow or Decimal(0)), total + (row.total or Decimal(0)), n + row.n)
    missing = _missing(rows)
    flow = _cashflow(start, end, accounts, base, found, missing)
    return flow, _trends(start, end, accounts, base, categories, rows, kind, top)


def _trends(
    start: dt.date,
    end: dt.date,
    accounts: list[int] | None,
    base: str,
    categories: dict[int, Any],
    rows: Sequence[Any],
    kind: Kind,
    top: int,
) -> CategoryTrendsReport:
    months = _months(start, end)
    column = {month: i for i, month in enumerate(months)}
    per_category: dict[int, list[Decimal]] = {}
    uncategorized = [Decimal(0)] * len(months)
    for row in rows:
        total, inflow = row.total or Decimal(0), row.inflow or Decimal(0)
        if row.top is None:
            uncategorized[column[row.month]] += inflow if kind == "income" else total - inflow
        elif row.top in categories and categories[row.top].kind.value == kind:
            per_category.setdefault(row.top, [Decimal(0)] * len(months))[column[row.month]] += total

    def series(
        bucket: Literal["category", "others", "uncategorized"], ids: list[int], amounts: list[Decimal]
    ) -> TrendSeries:
        single = categories[ids[0]] if bucket == "category" else None
        return TrendSeries(
            bucket=bucket,
            category_id=single.id if single else None,
            category=single.name if single else None,
            total=format_amount(sum(amounts, Decimal(0)), base),
            amounts=[format_amount(a, base) for a in amounts],
            category_ids=ids,
        )

    # Largest first by size over the whole range, then by name so equal sizes keep a stable order.
    ranked = sorted(per_category, key=lambda c: (-abs(sum(per_category[c], Decimal(0))), categories[c].name, c))
    out = [series("category", [c], per_category[c]) for c in ranked[:top]]
    if rest := ranked[top:]:
        amounts = [sum((per_category[c][i] for c in rest), Decimal(0)) for i in range(len(months))]
        out.append(series("others", sorted(rest), amounts))
    if any(uncategorized):
        out.append(series("uncategorized", [], uncategorized))
    return CategoryTrendsReport(
        base_currency=base,
        date_from=start,
        date_to=end,
        account_ids=accounts,
        kind=kind,
        months=months,
        series=out,
        missing_rates=_missing(rows),
    )


async def net_worth(
    session: AsyncSession,
    access: BookAccess,
    date_from: dt.date | None,
    date_to: dt.date | None,
    account_ids: Sequence[int] | None = None,
) -> NetWorthReport:
    """The total balance at each month's end (the last month: at date_to), default the last twelve months."""
    start, end = period(date_from, date_to)
    accounts = await _accounts(session, access, account_ids)
    base = access.book.base_currency
    rows = await queries.net_worth(session, access.id, base, start.replace(day=1), end.replace(day=1), end, accounts)
    points = [
        NetWorthPoint(
            month=row.month,
            as_of=row.day,
            assets=format_amount(row.assets, base),
            liabilities=format_amount(row.liabilities, base),
            net_worth=format_amount(row.total, base),
        )
        for row in rows
    ]
    if not points:  # a book without accounts is worth nothing, every month
        zero = format_amount(Decimal(0), base)
        points = [
            NetWorthPoint(
                month=m,
                as_of=min(_add_months(m, 1) - dt.timedelta(days=1), end),
                assets=zero,
                liabilities=zero,
                net_worth=zero,
            )
            for m in _months(start, end)
        ]
    return NetWorthReport(
        base_currency=base,
        date_from=start,
        date_to=end,
        account_ids=accounts,
        months=points,
        missing_rates=_missing(rows),
    )
