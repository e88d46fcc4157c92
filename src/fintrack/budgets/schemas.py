"""Request and response bodies of the budgets API; months are "YYYY-MM" strings on the wire."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, PlainSerializer

from fintrack.schemas import AmountStr, Id, Strict

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(value: object) -> dt.date:
    """A month ("2026-11") as its first day; a date is taken as its month."""
    if isinstance(value, dt.date):
        return value.replace(day=1)
    found = _MONTH.match(value) if isinstance(value, str) else None
    if found is None or not 1 <= int(found[2]) <= 12 or not 1900 <= int(found[1]) <= 2199:
        raise ValueError("expected a month as YYYY-MM, such as 2026-11")
    return dt.date(int(found[1]), int(found[2]), 1)


def month_text(month: dt.date) -> str:
    return f"{month.year:04d}-{month.month:02d}"


Month = Annotated[
    dt.date,
    BeforeValidator(parse_month),
    PlainSerializer(month_text, return_type=str, when_used="json"),
    Field(examples=["2026-11"], json_schema_extra={"type": "string", "pattern": r"^\d{4}-\d{2}$"}),
]
Flag = Annotated[bool, Field(strict=True)]
Limit = Annotated[
    AmountStr,
    Field(description="The monthly limit in the book's base currency: above zero, at most its minor units"),
]


class BudgetCreate(Strict):
    category_id: Id = Field(description="An expense category of the book; its child categories count too")
    amount: Limit
    rollover: Flag = Field(default=False, description="Carry what is left (or overspent) of each month into the next")
    starts: Month | None = Field(default=None, description="The first month; default: this month")
    ends: Month | None = Field(default=None, description="The last month, inclusive; default: none")


class BudgetUpdate(Strict):
    """Only the fields sent change; `ends: null` makes the budget open-ended. The category stays: a budget for
    another category is another budget, with its own history and alerts."""

    amount: Limit | None = None
    rollover: Flag | None = None
    starts: Month | None = None
    ends: Month | None = None


class BudgetOut(BaseModel):
    id: int
    category_id: int
    amount: str
    currency: str
    rollover: bool
    starts: Month
    ends: Month | None
    created_at: dt.datetime
    updated_at: dt.datetime


class BudgetStatusOut(BaseModel):
    """One budget in one month; amounts in the book's base currency."""

    budget_id: int
    category_id: int
    category: str | None
    month: Month
    limit: str
    rollover: str = Field(description="Carried in from earlier months: unspent adds, overspent subtracts")
    available: str = Field(description="limit + rollover")
    spent: str = Field(description="Expenses of the category and its children, net of refunds; transfers excluded")
    remaining: str = Field(description="available - spent; negative when over")
    percent: float | None = Field(description="spent / available in %, one decimal; null when nothing is available")
    state: Literal["ok", "warning", "over"] = Field(description="warning from 80 %, over from 100 %")


class StatusOut(BaseModel):
    month: Month
    currency: str
    budgets: list[BudgetStatusOut]
    missing_rates: list[str] = Field(description="Currencies without an FX rate: their spending is left out")


class BudgetWithStatusOut(BudgetOut):
    status: BudgetStatusOut | None = Field(
        default=None, description="With ?month=: the budget's status that month (null when it is not active then)"
    )
