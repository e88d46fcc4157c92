"""Rule documents (conditions and actions) and the request and response bodies of the rules API.

The models here check shape only; what a document means (a pattern that compiles, shares that add up to
100 %) is checked by engine.compile_rule, so a stored rule and a new one pass the same checks.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from fintrack.schemas import AmountStr, IsoDate, Name, Strict

MAX_CONDITIONS = 20
MAX_VALUE_LENGTH = 200

Value = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_VALUE_LENGTH),
    Field(examples=["padaria"], description="Compared ignoring accents, case and repeated spaces"),
]
Day = Annotated[IsoDate, Field(ge=dt.date(1900, 1, 1), le=dt.date(2199, 12, 31), examples=["2026-11-23"])]
# Strict: a JSON true is not the number 1.
Id = Annotated[int, Field(ge=1, le=2**63 - 1, strict=True)]
Position = Annotated[int, Field(ge=0, le=1_000_000, strict=True, examples=[0])]
DayOfMonth = Annotated[int, Field(ge=1, le=31, strict=True, examples=[5])]
Flag = Annotated[bool, Field(strict=True)]
Percent = Annotated[
    str, Field(pattern=r"^\d{1,3}(\.\d{1,4})?$", examples=["60"], description="A percentage as a decimal string")
]


class TextCondition(Strict):
    """The payee, description or memo (`text`: any of the three) contains, equals, starts with or matches."""

    field: Literal["payee", "description", "memo", "text"]
    op: Literal["contains", "equals", "starts_with", "regex"] = "contains"
    value: Value


class AmountCondition(Strict):
    """The signed amount (debits are negative) lies between min and max, both inclusive, either optional."""

    field: Literal["amount"]
    min: AmountStr | None = None
    max: AmountStr | None = None


class DirectionCondition(Strict):
    """Money out (debit: amount < 0) or in (credit: amount > 0)."""

    field: Literal["direction"]
    value: Literal["debit", "credit"]


class AccountCondition(Strict):
    """The transaction is in one of these accounts."""

    field: Literal["account"]
    ids: Annotated[list[Id], Field(min_length=1, max_length=100)]


class DateCondition(Strict):
    """The date lies between start and end, both inclusive, either optional."""

    field: Literal["date"]
    start: Day | None = None
    end: Day | None = None


class DayOfMonthCondition(Strict):
    """The day of the month lies between start and end, inclusive; start > end wraps (25 to 5)."""

    field: Literal["day_of_month"]
    start: DayOfMonth
    end: DayOfMonth


Condition = Annotated[
    TextCondition | AmountCondition | DirectionCondition | AccountCondition | DateCondition | DayOfMonthCondition,
    Field(discriminator="field"),
]
Conditions = Annotated[list[Condition], Field(min_length=1, max_length=MAX_CONDITIONS)]
MatchMode = Annotated[
    Literal["all", "any"], Field(description="all: every condition must hold; any: at least one must")
]


class SplitShare(Strict):
    category_id: Id
    percent: Percent


class Actions(Strict):
    """At least one of: set the category, add tags, set the payee (created if new), split by percentages."""

    category_id: Id | None = None
    tag_ids: Annotated[list[Id], Field(max_length=20)] = []
    payee: Name | None = None
    splits: Annotated[list[SplitShare], Field(min_length=2, max_length=20)] | None = Field(
        default=None,
        description="Percentages adding up to 100; amounts are rounded to the currency's minor units and the "
        "last part takes the remainder, so the parts add up to the transaction's amount exactly",
    )


class RuleDraft(Strict):
    """What a rule does, without a name or place: the body of a dry run."""

    match: MatchMode = "all"
    conditions: Conditions
    actions: Actions


class RuleCreate(Strict):
    name: Name
    enabled: Flag = True
    position: Position | None = Field(default=None, description="0 is first; default: after the last rule")
    match: MatchMode = "all"
    conditions: Conditions
    actions: Actions


class RuleUpdate(Strict):
    name: Name | None = None
    enabled: Flag | None = None
    position: Position | None = None
    match: MatchMode | None = None
    conditions: Conditions | None = None
    actions: Actions | None = None


class RuleOrder(Strict):
    ids: Annotated[list[Id], Field(max_length=10_000, description="Every rule id of the book, first rule first")]


class RuleOut(BaseModel):
    id: int
    name: str
    position: int
    enabled: bool
    match: Literal["all", "any"]
    conditions: list[Condition]
    actions: Actions
    hits: int
    last_hit_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


class SplitAmount(BaseModel):
    category_id: int
    amount: str


class Change(BaseModel):
    """One transaction the rule matches: what it is now, and what the rule would make of it."""

    transaction_id: int
    date: dt.date
    account_id: int
    description: str
    payee: str | None
    amount: str
    currency: str
    category_id: int | None
    category: str | None
    new_category_id: int | None
    new_category: str | None
    new_payee: str | None
    tags_added: list[int]
    splits: list[SplitAmount]


class DryRunOut(BaseModel):
    scanned: int = Field(description="Transactions read after the database's prefilter")
    matched: int
    would_change: int
    sample: list[Change]


class ApplyOut(BaseModel):
    rule_id: int
    scanned: int
    matched: int
    changed: int
    categorized: int
    split: int
    payee_set: int
    tagged: int


class Support(BaseModel):
    count: int = Field(description="Categorised transactions in the group")
    share: float = Field(description="Share of the group in the suggested category (0 to 1)")
    examples: list[str]


class SuggestionOut(BaseModel):
    rule: RuleCreate = Field(description="Ready to POST to /api/v1/rules")
    category: str
    support: Support
