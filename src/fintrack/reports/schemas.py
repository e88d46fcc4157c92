"""Response bodies of reports."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class CategoryLine(BaseModel):
    category_id: int | None
    category: str | None
    parent: str | None
    kind: str | None
    total: str
    count: int


class CategoryReport(BaseModel):
    base_currency: str
    date_from: dt.date
    date_to: dt.date
    lines: list[CategoryLine]
    missing_rates: list[str]


class MonthLine(BaseModel):
    month: dt.date
    income: str
    expense: str
    net: str
    count: int


class CashflowReport(BaseModel):
    base_currency: str
    date_from: dt.date
    date_to: dt.date
    months: list[MonthLine]
    missing_rates: list[str]
