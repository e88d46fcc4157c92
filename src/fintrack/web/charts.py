"""ECharts options built from the services' reports: the server decides what is drawn, the page only draws it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fintrack.reports.schemas import CashflowReport, CategoryReport, CategoryTrendsReport, NetWorthReport
from fintrack.web.i18n import Formats

GRID = {"left": 8, "right": 8, "top": 36, "bottom": 8, "containLabel": True}


def _n(amount: str | Decimal) -> float:
    return float(amount)


def cashflow(report: CashflowReport, f: Formats, income: str, expense: str, net: str) -> dict[str, Any]:
    months = [f.month(m.month) for m in report.months]
    return {
        "grid": GRID,
        "legend": {"top": 0},
        "xAxis": {"type": "category", "data": months},
        "yAxis": {"type": "value"},
        "series": [
            {"name": income, "type": "bar", "data": [_n(m.income) for m in report.months], "color": "#2e9d6f"},
            {"name": expense, "type": "bar", "data": [-_n(m.expense) for m in report.months], "color": "#d9534f"},
            {"name": net, "type": "line", "data": [_n(m.net) for m in report.months], "color": "#3b6fd6"},
        ],
    }


def net_worth(report: NetWorthReport, f: Formats, label: str) -> dict[str, Any]:
    return {
        "grid": GRID,
        "xAxis": {"type": "category", "data": [f.month(p.month) for p in report.months]},
        "yAxis": {"type": "value", "scale": True},
        "series": [
            {
                "name": label,
                "type": "line",
                "smooth": True,
                "areaStyle": {"opacity": 0.12},
                "data": [_n(p.net_worth) for p in report.months],
            },
        ],
    }


def spending(report: CategoryReport, others: str, uncategorized: str) -> dict[str, Any]:
    """This period's spending by top-level category, as a ring (children added to their parents)."""
    totals: dict[str, Decimal] = {}
    for line in report.lines:
        amount = Decimal(line.total)
        if amount >= 0:
            continue
        name = line.parent or line.category or uncategorized
        totals[name] = totals.get(name, Decimal(0)) - amount
    ranked = sorted(totals.items(), key=lambda kv: kv[1], reverse=True)
    shown = ranked[:7]
    rest = sum((v for _, v in ranked[7:]), Decimal(0))
    if rest:
        shown.append((others, rest))
    return {
        "legend": {"type": "scroll", "bottom": 0},
        "series": [
            {
                "type": "pie",
                "radius": ["45%", "72%"],
                "center": ["50%", "44%"],
                "label": {"show": False},
                "data": [{"name": k, "value": float(v)} for k, v in shown],
            }
        ],
    }


def trends(report: CategoryTrendsReport, f: Formats, others: str, uncategorized: str) -> dict[str, Any]:
    names = {"others": others, "uncategorized": uncategorized}
    return {
        "grid": {**GRID, "top": 60},
        "legend": {"type": "scroll", "top": 0},
        "xAxis": {"type": "category", "data": [f.month(m) for m in report.months]},
        "yAxis": {"type": "value"},
        "series": [
            {
                "name": s.category or names.get(s.bucket, s.bucket),
                "type": "bar",
                "stack": "total",
                "data": [abs(_n(a)) for a in s.amounts],
            }
            for s in report.series
        ],
    }
