"""Request and response bodies of the ledger API (accounts, categories, payees, tags, FX rates)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from fintrack.ledger.models import AccountType, CategoryKind
from fintrack.schemas import AmountStr, CurrencyCode, Id, IsoDate, Name, RateStr, Strict


class AccountCreate(Strict):
    name: Name
    type: AccountType = AccountType.checking
    currency: CurrencyCode | None = None
    opening_balance: AmountStr = "0"
    archived: bool = False


class AccountUpdate(Strict):
    name: Name | None = None
    type: AccountType | None = None
    opening_balance: AmountStr | None = None
    archived: bool | None = None


class AccountOut(BaseModel):
    id: int
    name: str
    type: AccountType
    currency: str
    opening_balance: str
    balance: str
    archived: bool
    created_at: datetime


class BalanceOut(BaseModel):
    account_id: int
    name: str
    currency: str
    balance: str
    balance_in_base: str | None
    as_of: date | None


class BalancesOut(BaseModel):
    base_currency: str
    as_of: date | None
    accounts: list[BalanceOut]
    total_in_base: str
    missing_rates: list[str]


class CategoryCreate(Strict):
    name: Name
    kind: CategoryKind = CategoryKind.expense
    parent_id: Id | None = None


class CategoryUpdate(Strict):
    name: Name | None = None


class CategoryOut(BaseModel):
    id: int
    name: str
    kind: CategoryKind
    parent_id: int | None


class NamedCreate(Strict):
    name: Name


class NamedOut(BaseModel):
    id: int
    name: str


class FxRatePut(Strict):
    currency: CurrencyCode
    day: IsoDate
    rate: RateStr


class FxRateOut(BaseModel):
    currency: str
    day: date
    rate: str
