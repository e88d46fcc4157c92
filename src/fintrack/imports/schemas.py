"""Response bodies of the imports API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fintrack.imports.models import ImportRow


class ImportSummary(BaseModel):
    rows: int
    new: int
    duplicates: int
    possible_duplicates: int = 0
    deleted: int = 0
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
    id: int
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
    decision: str | None

    @classmethod
    def of(cls, r: ImportRow) -> ImportRowOut:
        return cls(
            id=r.id,
            line=r.line,
            status=r.status,
            date=r.date,
            amount=None if r.amount is None else f"{r.amount.normalize():f}",
            description=r.description,
            payee=r.payee,
            memo=r.memo,
            external_id=r.external_id,
            duplicate_of=r.duplicate_of,
            reason=r.reason,
            score=None if r.score is None else f"{r.score:f}",
            field=r.field,
            transaction_id=r.transaction_id,
            decision=r.decision,
        )


class RowDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["import", "skip"] | None = Field(
        description="import: write it although it looks like a duplicate or a deleted transaction; "
        "skip: do not write this new row; null: back to what the preview decided"
    )


class RevertOut(BaseModel):
    session: ImportOut
    removed: int
    edited_since_commit: list[int]
