"""Response bodies of the imports API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fintrack.imports.models import ImportRow


class ImportSummary(BaseModel):
    rows: int
    new: int
    duplicates: int
    possible_duplicates: int = 0
    deleted: int = 0
    errors: int
    transfers: int = 0
    categorized: int = Field(0, description="rows whose category commit sets (a rule, the file, or a sure suggestion)")
    suggested: int = Field(0, description="rows with a suggestion below the threshold: shown, not applied")
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
    options: dict[str, Any] = Field(
        description="what the upload asked for; for a CSV, `csv` holds how it was read (profile, delimiter, "
        "encoding, header line): the mapping a PUT .../mapping starts from"
    )
    profile_id: int | None = Field(description="the saved CSV profile this file was read with")
    progress: dict[str, Any] | None = Field(description="{stage, done, total} while a background job works on it")
    error: dict[str, Any] | None = Field(description="the error body, when status is failed")


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
    category_id: int | None
    category_source: Literal["rule", "file", "similar", "user"] | None
    confidence: str | None
    apply_category: bool = Field(description="commit sets category_id; false: a suggestion the user may accept")
    rule_id: int | None
    tag_ids: list[int]
    splits: list[dict[str, Any]] | None
    transfer_with: int | None = Field(description="for a transfer: the transaction in the other account it pairs with")

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
            category_id=r.category_id,
            category_source=r.category_source,
            confidence=None if r.confidence is None else f"{r.confidence:f}",
            apply_category=r.apply_category,
            rule_id=r.rule_id,
            tag_ids=r.tag_ids or [],
            splits=r.splits,
            transfer_with=r.transfer_with,
        )


class RowDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["import", "skip"] | None = Field(
        description="import: write it although it looks like a duplicate or a deleted transaction (for a "
        "transfer row: as a plain transaction, not paired); skip: do not write this row; "
        "null: back to what the preview decided"
    )


class RowCategory(BaseModel):
    model_config = ConfigDict(extra="forbid")
    category_id: int | None = Field(
        ge=1, le=2**63 - 1, description="the category commit sets for this row; null: leave it uncategorized"
    )


class RevertOut(BaseModel):
    session: ImportOut
    removed: int
    edited_since_commit: list[int]


Column = Annotated[int | None, Field(ge=0, le=199)]


class CsvMapping(BaseModel):
    """Which column (0-based) holds what, and the choices the file cannot state."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=100, description="the profile's name")
    date: Annotated[int, Field(ge=0, le=199)]
    description: Column = None
    amount: Column = None
    debit: Column = None
    credit: Column = None
    payee: Column = None
    memo: Column = None
    category: Column = None
    external_id: Column = None
    kind: Column = None
    date_order: Literal["dmy", "mdy", "ymd"] | None = None
    decimal: Literal[",", "."] | None = None
    flip_sign: bool = Field(default=False, description="the file writes money spent as positive numbers")
    save: bool = Field(default=True, description="reuse this mapping for the next file with the same header")


class ProfileOut(BaseModel):
    id: int
    name: str
    header: list[str] | None
    mapping: dict[str, Any]
    uses: int
    created_at: dt.datetime
    last_used_at: dt.datetime | None
