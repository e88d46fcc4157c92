"""Response bodies of reports."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field


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
    account_ids: list[int] | None = Field(description="The accounts the report covers; null: all of them")
    lines: list[CategoryLine]
    missing_rates: list[str]


class MonthLine(BaseModel):
    month: dt.date = Field(description="The month's first day")
    income: str = Field(description="Money in (positive), transfers between the book's accounts left out")
    expense: str = Field(description="Money out (negative)")
    net: str = Field(description="income + expense")
    savings_rate: str | None = Field(
        description="net / income as a fraction with four decimals ('0.2500' = 25 %); null when there was no income"
    )
    count: int = Field(description="Transactions (split parts counted one by one)")


class CashflowReport(BaseModel):
    """Income against expense per month; every month of the range is listed, empty ones with zeros."""

    base_currency: str
    date_from: dt.date
    date_to: dt.date
    account_ids: list[int] | None
    months: list[MonthLine]
    total: MonthLine = Field(description="The whole range; its `month` is the first month")
    missing_rates: list[str]


class TrendSeries(BaseModel):
    bucket: Literal["category", "others", "uncategorized"]
    category_id: int | None = Field(description="A top-level category (its subcategories rolled up); null otherwise")
    category: str | None
    total: str = Field(description="The whole range, signed as in the ledger (spending is negative)")
    amounts: list[str] = Field(description="One per month of `months`, in that order")
    category_ids: list[int] = Field(
        description="The top-level categories the series covers: one, or the many of `others`"
    )


class CategoryTrendsReport(BaseModel):
    """Per month and top-level category of one kind: the top N by size over the range, the rest in `others`."""

    base_currency: str
    date_from: dt.date
    date_to: dt.date
    account_ids: list[int] | None
    kind: Literal["expense", "income"]
    months: list[dt.date]
    series: list[TrendSeries]
    missing_rates: list[str]


class NetWorthPoint(BaseModel):
    month: dt.date = Field(description="The month's first day")
    as_of: dt.date = Field(description="The day the balances are taken: the month's last day, or date_to")
    assets: str = Field(description="The sum of the accounts with a positive balance")
    liabilities: str = Field(description="The sum of the accounts with a negative balance (credit cards, loans)")
    net_worth: str


class NetWorthReport(BaseModel):
    """Month-end balances of the accounts (every account, or the filter's), in the base currency."""

    base_currency: str
    date_from: dt.date
    date_to: dt.date
    account_ids: list[int] | None
    months: list[NetWorthPoint]
    missing_rates: list[str]
