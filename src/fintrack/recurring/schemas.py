"""Request and response bodies of the recurring API, and the summary a detection run returns."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from fintrack.schemas import AmountStr, Id, Name, Strict

Status = Literal["detected", "confirmed", "dismissed"]
PeriodName = Literal["weekly", "biweekly", "monthly", "quarterly", "semiannual", "yearly"]
Days = Annotated[int, Field(ge=1, le=366, description="How far ahead to look, in days")]


class RecurringUpdate(Strict):
    """Only what is sent changes; `category_id` and `amount` may be null to clear them."""

    status: Status | None = Field(default=None, description="confirmed or dismissed; detected undoes either")
    name: Name | None = None
    category_id: Id | None = None
    amount: AmountStr | None = Field(
        default=None,
        description="The expected amount, signed like the series (negative for debits); null: the detected median",
    )


class RecurringOut(BaseModel):
    id: int
    account_id: int
    key: str = Field(description="The description as grouped: folded, without numbers")
    name: str
    category_id: int | None
    direction: Literal["debit", "credit"]
    period: PeriodName
    interval_days: int
    amount: str = Field(description="Expected next amount: the user's figure if set, else the typical amount")
    typical_amount: str = Field(description="Median of the latest charges at the current price")
    expected_amount: str | None = Field(description="Set by the user; wins over the typical amount")
    amount_min: str
    amount_max: str
    currency: str
    first_date: dt.date
    last_date: dt.date
    next_date: dt.date
    occurrences: int
    status: Status
    detected_at: dt.datetime
    created_at: dt.datetime
    updated_at: dt.datetime


class DetectOut(BaseModel):
    """What a detection run found and did to the book's series."""

    found: int = Field(description="Living series in the history")
    created: int
    updated: int = Field(description="Existing detected or confirmed series refreshed")
    dismissed: int = Field(description="Found again but dismissed: refreshed, still dismissed")
    removed: int = Field(description="Detected (never confirmed) series no longer found: deleted")
    scanned_groups: int = Field(description="Merchant groups the database handed over for analysis")


class UpcomingOut(BaseModel):
    series_id: int
    name: str
    date: dt.date
    amount: str
    currency: str
    account_id: int
    category_id: int | None
    period: PeriodName
    status: Status
    overdue: bool = Field(description="Due before today and not seen yet")
