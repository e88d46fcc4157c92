"""Request and response bodies of the transactions API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from fintrack.schemas import AmountStr, CurrencyCode, Id, IsoDate, Name, Strict, Text

# Dates outside this range are typing mistakes, not household history.
Day = Annotated[IsoDate, Field(ge=dt.date(1900, 1, 1), le=dt.date(2199, 12, 31), examples=["2026-11-23"])]
ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=255)]
TagName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class SplitIn(Strict):
    category_id: Id | None = None
    amount: AmountStr
    memo: Text | None = None


class SplitOut(BaseModel):
    id: int
    category_id: int | None
    amount: str
    memo: str | None


class TransactionCreate(Strict):
    account_id: Id
    date: Day
    amount: AmountStr
    currency: CurrencyCode | None = Field(default=None, description="Defaults to the account's; must match it")
    payee: Name | None = Field(default=None, description="Payee name; created in the book if new")
    description: Text = ""
    memo: Text | None = None
    category_id: Id | None = None
    tags: Annotated[list[TagName], Field(max_length=50)] = []
    notes: Text | None = None
    external_id: ExternalId | None = None
    splits: Annotated[list[SplitIn], Field(max_length=100)] | None = Field(
        default=None, description="At least two parts whose amounts sum to the transaction's amount"
    )


class TransactionUpdate(Strict):
    account_id: Id | None = None
    date: Day | None = None
    amount: AmountStr | None = None
    payee: Name | None = None
    description: Text | None = None
    memo: Text | None = None
    category_id: Id | None = None
    tags: Annotated[list[TagName], Field(max_length=50)] | None = None
    notes: Text | None = None
    splits: Annotated[list[SplitIn], Field(max_length=100)] | None = None


class TransactionOut(BaseModel):
    id: int
    account_id: int
    date: dt.date
    amount: str
    currency: str
    payee_id: int | None
    payee: str | None
    description: str
    memo: str | None
    category_id: int | None
    tags: list[str]
    notes: str | None
    external_id: str | None
    import_session_id: int | None
    source_line: int | None
    transfer_id: int | None
    splits: list[SplitOut]
    created_at: dt.datetime
    updated_at: dt.datetime


class BulkCreate(Strict):
    transactions: Annotated[list[TransactionCreate], Field(min_length=1, max_length=1000)]


class BulkCreated(BaseModel):
    created: int
    ids: list[int]


class TransferCreate(Strict):
    from_account_id: Id
    to_account_id: Id
    date: Day
    amount: AmountStr = Field(description="Positive amount leaving the source account, in its currency")
    to_amount: AmountStr | None = Field(
        default=None, description="Amount arriving, in the destination's currency; required across currencies"
    )
    description: Text = ""
    memo: Text | None = None


class TransferOut(BaseModel):
    id: int
    rate: str
    from_transaction: TransactionOut
    to_transaction: TransactionOut
