"""HTTP routes for budgets: the list (with a month's status), one budget, and the status of a month."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from fintrack.budgets import service as budgets
from fintrack.budgets.models import Budget
from fintrack.budgets.schemas import (
    BudgetCreate,
    BudgetOut,
    BudgetStatusOut,
    BudgetUpdate,
    BudgetWithStatusOut,
    Month,
    StatusOut,
)
from fintrack.deps import CurrentBook, SessionDep
from fintrack.idempotency import IdempotencyDep
from fintrack.money import format_amount

router = APIRouter(prefix="/api/v1/budgets", tags=["budgets"])
BudgetId = Annotated[int, Path(ge=1, le=2**63 - 1)]
MonthQuery = Annotated[Month | None, Query(description="A month as YYYY-MM; default: this month")]


def budget_out(budget: Budget) -> BudgetOut:
    return BudgetOut(
        id=budget.id,
        category_id=budget.category_id,
        amount=format_amount(budget.amount, budget.currency),
        currency=budget.currency,
        rollover=budget.rollover,
        starts=budget.starts_month,
        ends=budget.ends_month,
        created_at=budget.created_at,
        updated_at=budget.updated_at,
    )


def line_out(line: budgets.BudgetLine, currency: str) -> BudgetStatusOut:
    return BudgetStatusOut(
        budget_id=line.budget_id,
        category_id=line.category_id,
        category=line.category,
        month=line.month,
        limit=format_amount(line.limit, currency),
        rollover=format_amount(line.rollover, currency),
        available=format_amount(line.available, currency),
        spent=format_amount(line.spent, currency),
        remaining=format_amount(line.remaining, currency),
        percent=float(line.percent) if line.percent is not None else None,
        state=line.state,
    )


def _month(month: dt.date | None) -> dt.date:
    return month or dt.date.today().replace(day=1)


@router.get("", summary="The book's budgets; with ?month=, each with its status that month")
async def list_budgets(book: CurrentBook, session: SessionDep, month: MonthQuery = None) -> list[BudgetWithStatusOut]:
    found = await budgets.list_budgets(session, book)
    lines = {}
    if month is not None:
        report = await budgets.status(session, book, month)
        lines = {line.budget_id: line_out(line, report.currency) for line in report.lines}
    return [BudgetWithStatusOut(**budget_out(b).model_dump(), status=lines.get(b.id)) for b in found]


@router.post("", status_code=status.HTTP_201_CREATED, summary="Add a monthly limit on an expense category")
async def create_budget(body: BudgetCreate, book: CurrentBook, session: SessionDep, idem: IdempotencyDep) -> BudgetOut:
    if replay := await idem.replay():
        return replay  # type: ignore[return-value]
    budget = await budgets.create_budget(
        session,
        book,
        category_id=body.category_id,
        amount=body.amount,
        rollover=body.rollover,
        starts=body.starts,
        ends=body.ends,
    )
    return await idem.save(201, budget_out(budget))


@router.get("/status", summary="Every budget active in a month: limit, rollover, spent, remaining, state")
async def month_status(book: CurrentBook, session: SessionDep, month: MonthQuery = None) -> StatusOut:
    report = await budgets.status(session, book, _month(month))
    return StatusOut(
        month=report.month,
        currency=report.currency,
        budgets=[line_out(line, report.currency) for line in report.lines],
        missing_rates=report.missing_rates,
    )


@router.get("/{budget_id}", summary="One budget; with ?month=, its status that month")
async def get_budget(
    budget_id: BudgetId, book: CurrentBook, session: SessionDep, month: MonthQuery = None
) -> BudgetWithStatusOut:
    budget = await budgets.get_budget(session, book, budget_id)
    line = await budgets.budget_status(session, book, budget_id, month) if month is not None else None
    return BudgetWithStatusOut(
        **budget_out(budget).model_dump(), status=line_out(line, book.book.base_currency) if line else None
    )


@router.patch("/{budget_id}", summary="Change the limit, category, rollover or months; ends: null removes the end")
async def update_budget(budget_id: BudgetId, body: BudgetUpdate, book: CurrentBook, session: SessionDep) -> BudgetOut:
    changes = body.model_dump(exclude_unset=True)
    return budget_out(await budgets.update_budget(session, book, budget_id, **changes))


@router.delete("/{budget_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a budget and its alerts")
async def delete_budget(budget_id: BudgetId, book: CurrentBook, session: SessionDep) -> None:
    await budgets.delete_budget(session, book, budget_id)
