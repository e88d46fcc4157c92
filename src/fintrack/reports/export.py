"""Reports as CSV: a header row, ISO dates, amounts with a decimal point, one file name per report and range."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from fintrack.ledger.schemas import BalancesOut
from fintrack.reports.schemas import CashflowReport, CategoryReport, CategoryTrendsReport, NetWorthReport

Report = BalancesOut | CashflowReport | CategoryReport | CategoryTrendsReport | NetWorthReport


def _write(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)  # RFC 4180: CRLF line ends, quotes only where a field needs them
    writer.writerow(header)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return out.getvalue()


def balances_csv(report: BalancesOut) -> str:
    return _write(
        ["account_id", "account", "currency", "balance", "balance_in_base", "base_currency", "as_of"],
        (
            [a.account_id, a.name, a.currency, a.balance, a.balance_in_base, report.base_currency, report.as_of]
            for a in report.accounts
        ),
    )


def categories_csv(report: CategoryReport) -> str:
    return _write(
        ["category_id", "category", "parent", "kind", "total", "count", "currency"],
        ([c.category_id, c.category, c.parent, c.kind, c.total, c.count, report.base_currency] for c in report.lines),
    )


def cashflow_csv(report: CashflowReport) -> str:
    return _write(
        ["month", "income", "expense", "net", "savings_rate", "count", "currency"],
        (
            [m.month.isoformat(), m.income, m.expense, m.net, m.savings_rate, m.count, report.base_currency]
            for m in report.months
        ),
    )


def category_trends_csv(report: CategoryTrendsReport) -> str:
    # Long form (one row per month and series): spreadsheets pivot it, and it never outgrows a column limit.
    return _write(
        ["month", "bucket", "category_id", "category", "amount", "currency"],
        (
            [month.isoformat(), s.bucket, s.category_id, s.category, amount, report.base_currency]
            for i, month in enumerate(report.months)
            for s in report.series
            for amount in [s.amounts[i]]
        ),
    )


def net_worth_csv(report: NetWorthReport) -> str:
    return _write(
        ["month", "as_of", "assets", "liabilities", "net_worth", "currency"],
        (
            [p.month.isoformat(), p.as_of.isoformat(), p.assets, p.liabilities, p.net_worth, report.base_currency]
            for p in report.months
        ),
    )


def filename(name: str, report: Report) -> str:
    """fintrack-cashflow-2025-12-01_2026-11-30.csv: ASCII only, so every browser keeps it as is."""
    if isinstance(report, BalancesOut):
        return f"fintrack-{name}-{report.as_of.isoformat() if report.as_of else 'current'}.csv"
    return f"fintrack-{name}-{report.date_from.isoformat()}_{report.date_to.isoformat()}.csv"
