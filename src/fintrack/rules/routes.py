"""HTTP routes for categorization rules: the ordered list, dry runs, applying to history, suggestions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from fintrack.budgets import flows as budget_flows
from fintrack.deps import CurrentBook, SessionDep
from fintrack.idempotency import IdempotencyDep
from fintrack.rules import history
from fintrack.rules import service as rules
from fintrack.rules.models import Rule
from fintrack.rules.schemas import (
    ApplyOut,
    DryRunOut,
    RuleCreate,
    RuleDraft,
    RuleOrder,
    RuleOut,
    RuleUpdate,
    SuggestionOut,
)
from fintrack.rules.suggestions import suggestions

router = APIRouter(prefix="/api/v1/rules", tags=["rules"])
RuleId = Annotated[int, Path(ge=1, le=2**63 - 1)]
OnlyUncategorized = Annotated[
    bool, Query(description="Only transactions with neither a category nor splits (what apply changes by default)")
]


def rule_out(rule: Rule) -> RuleOut:
    draft = rules.draft_of(rule)
    return RuleOut(
        id=rule.id,
        name=rule.name,
        position=rule.position,
        enabled=rule.enabled,
        match=draft.match,
        conditions=draft.conditions,
        actions=draft.actions,
        hits=rule.hits,
        last_hit_at=rule.last_hit_at,
        created_at=rule.created_at,
        updated_at=rule.updated_at,
    )


@router.get("", summary="Rules of the book in the order they are tried, with their hits")
async def list_rules(book: CurrentBook, session: SessionDep) -> list[RuleOut]:
    return [rule_out(r) for r in await rules.list_rules(session, book)]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a rule, last or at a position")
async def create_rule(body: RuleCreate, book: CurrentBook, session: SessionDep, idem: IdempotencyDep) -> RuleOut:
    if replay := await idem.replay():
        return replay  # type: ignore[return-value]
    return await idem.save(201, rule_out(await rules.create_rule(session, book, body)))


@router.put("/order", summary="Reorder: every rule id of the book, first rule first")
async def reorder_rules(body: RuleOrder, book: CurrentBook, session: SessionDep) -> list[RuleOut]:
    return [rule_out(r) for r in await rules.reorder(session, book, body.ids)]


@router.post("/dry-run", summary="What a rule (not saved) would match and change in the book's history")
async def dry_run(
    body: RuleDraft,
    book: CurrentBook,
    session: SessionDep,
    only_uncategorized: OnlyUncategorized = True,
    limit: Annotated[int, Query(ge=0, le=500, description="Most changes listed in the sample")] = 50,
) -> DryRunOut:
    return await history.dry_run(session, book, body, only_uncategorized=only_uncategorized, limit=limit)


@router.get("/suggestions", summary="Rules worth adding: payees and descriptions always categorised alike")
async def suggest_rules(
    book: CurrentBook, session: SessionDep, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[SuggestionOut]:
    return await suggestions(session, book, limit)


@router.get("/{rule_id}", summary="One rule")
async def get_rule(rule_id: RuleId, book: CurrentBook, session: SessionDep) -> RuleOut:
    return rule_out(await rules.get_rule(session, book, rule_id))


@router.patch("/{rule_id}", summary="Rename, enable or disable, move, or change conditions and actions")
async def update_rule(rule_id: RuleId, body: RuleUpdate, book: CurrentBook, session: SessionDep) -> RuleOut:
    return rule_out(await rules.update_rule(session, book, rule_id, body))


@router.delete("/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a rule")
async def delete_rule(rule_id: RuleId, book: CurrentBook, session: SessionDep) -> None:
    await rules.delete_rule(session, book, rule_id)


@router.post("/{rule_id}/apply", summary="Apply a saved rule to the book's history; changes count as hits")
async def apply_rule(
    rule_id: RuleId, book: CurrentBook, session: SessionDep, only_uncategorized: OnlyUncategorized = True
) -> ApplyOut:
    applied = await history.apply(session, book, rule_id, only_uncategorized=only_uncategorized)
    if applied.changed:  # categories moved into (or out of) budgeted ones: this month's budgets may have crossed
        await budget_flows.spending_changed(session, book.id, [dt.date.today()])
    return applied
