"""Response bodies of the imports API."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel


class ImportSummary(BaseModel):
    rows: int
    new: int
    duplicates: int
    errors: int
    committed: int


class ImportOut(BaseModel):
    id: int
    account_id: int
    filename: str | None
    format: str
    encoding: str | None
    status: str
    declared_count: int | None
    summary: ImportSummary
    notices: list[dict[str, Any]]
    created_at: dt.datetime
    committed_at: dt.datetime | None
    reverted_at: dt.datetime | None


class ImportRowOut(BaseModel):
    line: int | None
    status: str
    date: dt.date | None
    amount: str | None
    description: str | None
    payee: str | None
    memo: str | None
    external_id: str | None
    duplicate_of: int | None
    reason: str | None
    score: str | None
    field: str | None
    transaction_id: int | None


class RevertOut(BaseModel):
    session: ImportOut
    removed: int
    edited_since_commit: list[int]
